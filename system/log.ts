import { pino, type DestinationStream, type Logger } from 'pino';
import { currentTraceIds } from './events/trace-context.js';
import { redactText, redactValue } from './log-redaction.js';

export type { Logger };

/**
 * The node's JSON logger: one line per entry with `trace_id`/`span_id` when the work belongs to a trace, and no
 * secret in any field, message or error text (log-redaction.ts). `destination` is for tests; default stdout.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'integr8s-ts' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors become plain objects here so that their message and stack are redacted like everything else.
    serializers: { err: (err: unknown) => redactValue(err), error: (err: unknown) => redactValue(err) },
    formatters: { log: (object: Record<string, unknown>) => redactValue(object) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)));
      },
    },
    mixin: () => currentTraceIds() ?? {},
  };
  return destination ? pino(options, destination) : pino(options);
}
