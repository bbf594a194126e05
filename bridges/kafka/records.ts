/**
 * Conversions between the EventLog's records (strings everywhere) and kafkajs messages (Buffers on the way in).
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { LogRecord } from '../../system/ports/event-log.js';

/**
 * kafkajs headers as the string map of a LogRecord: Buffers are read as UTF-8, a header that occurs more than once
 * keeps its last value (Kafka's `lastHeader`), a null value becomes ''. Every name is an own property, even
 * `__proto__`.
 */
export function headersFromKafka(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (!headers) return result;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    const text = value == null ? '' : typeof value === 'string' ? value : value.toString('utf8');
    Object.defineProperty(result, name, { value: text, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** The headers of an outgoing message (kafkajs sends strings as UTF-8), copied so later edits do not leak in. */
export function headersToKafka(headers: Record<string, string>): IHeaders {
  const result: IHeaders = {};
  for (const name of Object.keys(headers)) {
    // Plain assignment keeps the object fast; `__proto__` would set the prototype instead of an entry.
    if (name === '__proto__') Object.defineProperty(result, name, { value: headers[name], enumerable: true, writable: true, configurable: true });
    else result[name] = headers[name];
  }
  return result;
}

/** A fetched message as a LogRecord; a null key or value (not something this adapter writes) becomes ''. */
export function recordFromKafka(topic: string, partition: number, message: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ? message.value.toString('utf8') : '',
    headers: headersFromKafka(message.headers),
  };
}
