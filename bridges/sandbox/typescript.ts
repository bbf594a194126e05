/**
 * TypeScript → JavaScript on the host with esbuild (syntax only, no type check), before the run starts.
 * Errors come out like a compiler's (`main.ts:LINE:COL: error: MESSAGE`); the output is an ES module with
 * `require` defined and an inline source map, so node (run with --enable-source-maps) reports main.ts lines.
 */
import { transform, type Message } from 'esbuild';

/** The TypeScript language level esbuild parses: the version the registry reports for typescript. */
export const TYPESCRIPT_LANGUAGE_LEVEL = '5';

/** Defines CommonJS `require` in the ES module, so both import styles work. */
const BANNER = "import { createRequire as __sandboxCreateRequire } from 'node:module'; const require = __sandboxCreateRequire(import.meta.url);";

/** Transpiled code, or the compiler-style diagnostics of a script that does not parse. */
export type Transpiled = { ok: true; code: string } | { ok: false; diagnostics: string };

/** One line per error: `file:line:col: error: text` (column 1-based, as compilers print it). */
export function formatDiagnostics(messages: readonly Message[], fileName: string): string {
  return messages
    .map((m) => {
      const where = m.location ? `${fileName}:${m.location.line}:${m.location.column + 1}` : fileName;
      return `${where}: error: ${m.text}\n`;
    })
    .join('');
}

/** Transpiles one TypeScript file; syntax errors are a result, not an exception. */
export async function transpileTypeScript(source: string, fileName = 'main.ts'): Promise<Transpiled> {
  try {
    const out = await transform(source, {
      loader: 'ts',
      format: 'esm',
      target: 'node20',
      sourcefile: fileName,
      sourcemap: 'inline',
      banner: BANNER,
      logLevel: 'silent',
    });
    return { ok: true, code: out.code };
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors;
    if (Array.isArray(messages) && messages.length > 0) return { ok: false, diagnostics: formatDiagnostics(messages, fileName) };
    throw error;
  }
}
