import { pino, type Logger } from 'pino';

export type { Logger };

/** The node's JSON logger; secrets in known fields are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'integr8s-ts' },
    redact: { paths: ['password', '*.password', 'script', '*.script', 'headers.cookie', 'headers.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
