/**
 * What the HTTP layer needs from a logger: fields first, then the message (pino's calling convention,
 * so the node's pino logger is passed in as is).
 */
export interface HttpLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Fallback logger when none is injected: one JSON object per line on stderr. */
export const jsonLineLogger: HttpLogger = {
  info: (fields, message) => writeLine('info', fields, message),
  warn: (fields, message) => writeLine('warn', fields, message),
  error: (fields, message) => writeLine('error', fields, message),
};

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component: 'http', ...fields, msg: message })}\n`);
}

/** An error as loggable fields (name, message, stack), whatever was thrown. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { error: err.name, error_message: err.message, stack: err.stack };
  return { error: 'non-error thrown', error_message: String(err) };
}
