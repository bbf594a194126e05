/** Where the Kafka adapter reports trouble, and how kafkajs' own log lines reach it. */
import { logLevel, type logCreator } from 'kafkajs';

/** A pino logger fits. */
export interface KafkaLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Without a logger: the adapter's own faults go to stderr, kafkajs stays silent. */
export const STDERR_LOGGER: KafkaLogger = {
  warn() {},
  error(details, message) {
    console.error(`kafka event log: ${message}`, details);
  },
};

/**
 * kafkajs' log lines at ERROR level (it logs nothing finer here) go to `logger.warn`: most are protocol errors it
 * retries by itself (a coordinator still loading, a broker restarting), so they are worth a line, not an alarm.
 * Without a logger nothing is logged.
 */
export function kafkajsLogging(logger: KafkaLogger | undefined): { logLevel: logLevel; logCreator: logCreator } {
  if (!logger) return { logLevel: logLevel.NOTHING, logCreator: () => () => {} };
  return {
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, log }) => {
      const { message, timestamp: _timestamp, ...details } = log;
      logger.warn({ kafkajs: namespace, ...details }, message);
    },
  };
}

/** An error as one line: `Name: message`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
