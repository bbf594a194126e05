/** The six languages the platform runs, as the editor knows them: syntax mode, file extension, display name. */
import { go } from '@codemirror/lang-go';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage, type LanguageSupport } from '@codemirror/language';
import { ruby } from '@codemirror/legacy-modes/mode/ruby';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import type { Extension } from '@codemirror/state';

/** One language: the API's `lang`, a label, the file extensions it is recognised by, and its editor mode. */
export interface LanguageInfo {
  lang: string;
  label: string;
  extensions: readonly string[];
  mode: () => LanguageSupport | StreamLanguage<unknown> | Extension;
}

export const LANGUAGES: readonly LanguageInfo[] = [
  { lang: 'python', label: 'Python', extensions: ['py'], mode: () => python() },
  { lang: 'node', label: 'JavaScript', extensions: ['js', 'mjs', 'cjs'], mode: () => javascript() },
  { lang: 'typescript', label: 'TypeScript', extensions: ['ts', 'mts'], mode: () => javascript({ typescript: true }) },
  { lang: 'ruby', label: 'Ruby', extensions: ['rb'], mode: () => StreamLanguage.define(ruby) },
  { lang: 'go', label: 'Go', extensions: ['go'], mode: () => go() },
  { lang: 'bash', label: 'Bash', extensions: ['sh', 'bash'], mode: () => StreamLanguage.define(shell) },
];

/** The language entry for an API `lang`, or undefined. */
export function languageInfo(lang: string): LanguageInfo | undefined {
  return LANGUAGES.find((l) => l.lang === lang);
}

/** The language of a file name by its extension, or undefined. */
export function languageOfFile(fileName: string): LanguageInfo | undefined {
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase();
  return LANGUAGES.find((l) => l.extensions.includes(ext));
}

/** The file name to download a script as: its name (made safe) with the language's extension. */
export function downloadName(name: string, lang: string): string {
  const ext = languageInfo(lang)?.extensions[0] ?? 'txt';
  const base = name.trim().replace(/\.[A-Za-z0-9]+$/, '').replace(/[^\w.-]+/g, '_') || 'script';
  return `${base}.${ext}`;
}
