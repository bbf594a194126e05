/**
 * The Kafka event log's way into its producer: appends made while a produce request is in flight wait, then go out
 * together in the next one, in call order, each settling with its request.
 */
import type { Message, Producer } from 'kafkajs';
import { asError } from '../../system/ports/event-log.js';

/** Roughly the most characters one produce request carries, so one huge record does not take others down with it. */
const MAX_REQUEST_CHARS = 512 * 1024;

/** Appends made together (one append(), or one appendMany()), settled once every one of them was sent or failed. */
class AppendGroup {
  private left: number;
  readonly results: Array<Error | null>;

  constructor(
    size: number,
    private readonly done: (results: Array<Error | null>) => void,
  ) {
    this.left = size;
    this.results = new Array<Error | null>(size).fill(null);
    if (size === 0) done(this.results);
  }

  settle(index: number, error: Error | null): void {
    this.results[index] = error;
    if (--this.left === 0) this.done(this.results);
  }
}

interface Pending {
  topic: string;
  message: Message;
  chars: number;
  group: AppendGroup;
  index: number;
}

/**
 * Sends appends through one producer: while a request is in flight, new appends wait and then go out together in
 * the next one (in the order they were made, so a key's records stay in order). Each append settles with its request.
 */
export class Sender {
  private readonly pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly producer: () => Promise<Producer>) {}

  /** Resolves when the message is acknowledged, rejects with the error of its request. */
  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      const group = new AppendGroup(1, ([error]) => (error ? reject(error) : resolve()));
      this.enqueue(topic, message, group, 0);
    });
  }

  /** Sends messages in order; answers per message null once acknowledged, or the error of its request. */
  sendMany(entries: ReadonlyArray<{ topic: string; message: Message }>): Promise<Array<Error | null>> {
    return new Promise((resolve) => {
      const group = new AppendGroup(entries.length, resolve);
      entries.forEach(({ topic, message }, index) => this.enqueue(topic, message, group, index));
    });
  }

  /** Resolves when every append made so far has settled. */
  drain(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private enqueue(topic: string, message: Message, group: AppendGroup, index: number): void {
    this.pending.push({ topic, message, chars: size(message), group, index });
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    // Let the appends of the current turn join the first request.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const batch = this.take();
      let failure: Error | null = null;
      try {
        const producer = await this.producer();
        const byTopic = new Map<string, Message[]>();
        for (const { topic, message } of batch) {
          let messages = byTopic.get(topic);
          if (!messages) byTopic.set(topic, (messages = []));
          messages.push(message);
        }
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (error) {
        failure = asError(error);
      }
      for (const entry of batch) entry.group.settle(entry.index, failure);
    }
    this.flushing = undefined;
  }

  /** The next request's appends: at least one, then as many as fit in MAX_REQUEST_CHARS. */
  private take(): Pending[] {
    let chars = 0;
    let count = 0;
    while (count < this.pending.length) {
      const next = this.pending[count]!;
      if (count > 0 && chars + next.chars > MAX_REQUEST_CHARS) break;
      chars += next.chars;
      count++;
    }
    return this.pending.splice(0, count);
  }
}

function size(message: Message): number {
  let chars = String(message.key ?? '').length + String(message.value ?? '').length;
  const headers = message.headers;
  if (headers) for (const name of Object.keys(headers)) chars += name.length + String(headers[name] ?? '').length;
  return chars;
}
