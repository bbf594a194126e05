/**
 * Operations on a real embedded node: a saga cancelled mid-run stops its sandbox and releases its slot; a poison
 * command reaches the dead-letter API with its error and coordinates and can be discarded; a message that failed
 * while the store was broken is retried after the fix and processed exactly like the original; a CSV export of
 * many events is streamed in chunks and parses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, readUntil } from '../../http/test-support.js';
import { stampEvent } from '../../system/domain/events.js';
import { partitionOf } from '../../system/domain/partition.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { EventStore } from '../../system/stores/event-store.js';
import { createSqliteEventLog } from '../../system/embedded/event-log.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { Collection, Doc, DocumentStore } from '../../system/ports/document-store.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

const PARTITIONS = 4;

/** Wraps the store so that inserting notifications fails while `broken.on` is set. */
function breakableNotifications(real: DocumentStore, broken: { on: boolean }): DocumentStore {
  return {
    ping: () => real.ping(),
    close: () => real.close(),
    collection<T extends Doc>(name: string, options?: Parameters<DocumentStore['collection']>[1]): Collection<T> {
      const c = real.collection<T>(name, options);
      if (name !== 'notifications') return c;
      return {
        ...c,
        insert: async (d) => {
          if (broken.on) throw new Error('notification store is down');
          return c.insert(d);
        },
        get: (id) => c.get(id),
        put: (d) => c.put(d),
        update: (id, patch) => c.update(id, patch),
        increment: (id, field, by) => c.increment(id, field, by),
        delete: (id) => c.delete(id),
        find: (f, o) => c.find(f, o),
        count: (f) => c.count(f),
      };
    },
  };
}

const broken = { on: false };
let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ EVENT_PARTITIONS: String(PARTITIONS) }, { decorateStore: (s) => breakableNotifications(s, broken) });
});
afterAll(async () => t?.stop());

describe('sagas on a real node', () => {
  it('cancelling a saga mid-run stops the sandbox and releases the slot', async () => {
    const id = await t.submit('import time\nprint("started", flush=True)\ntime.sleep(60)');
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 15_000, message: 'running' });
    const saga = await waitFor(async () => {
      const res = await t.api(`/sagas/execution/${id}`);
      return res.status === 200 && res.body.current_step === 'await_outcome' ? res.body : null;
    }, { message: 'the saga awaiting the outcome' });
    expect(saga).toMatchObject({ execution_id: id, state: 'running', completed_steps: ['admit', 'start_sandbox'] });
    expect((await t.api('/admin/executions/queue')).body.active_count).toBe(1);

    const res = await t.api(`/sagas/${saga.saga_id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, saga_id: saga.saga_id });
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'cancelled', { timeoutMs: 5_000, message: 'cancelled' });
    await waitFor(async () => (await t.api('/admin/executions/queue')).body.active_count === 0, { message: 'slot released' });
    const ended = await waitFor(async () => {
      const body = (await t.api(`/sagas/${saga.saga_id}`)).body;
      return body.state === 'cancelled' ? body : null;
    }, { message: 'the saga cancelled' });
    expect(ended.compensated_steps).toEqual(['stop_sandbox', 'release']);
    expect(ended.error_message).toMatch(/^cancelled: /);
    expect((await t.api(`/sagas/?state=cancelled&execution_id=${id}`)).body.total).toBe(1);
    expect((await t.api(`/sagas/${saga.saga_id}/cancel`, { method: 'POST' })).status).toBe(400);
  });
});

describe('dead letters on a real node', () => {
  it('a poison command shows up with its error and coordinates, and a discard removes it', async () => {
    // Appended through a second connection to the node's file, as another process would.
    const db = openDataDir(t.dir.path);
    const log = createSqliteEventLog(db, { partitions: PARTITIONS });
    const key = 'poison-key';
    try {
      await log.append('execution_commands', key, '{"event_type":"execution_requested","not":"an event"}', { event_type: 'execution_requested' });
    } finally {
      await log.close();
    }
    const letter = await waitFor(async () => {
      const res = await t.api('/admin/dlq/messages?topic=execution_commands&status=pending');
      return res.body.messages.find((m: any) => m.key === key);
    }, { message: 'the poison command in the dead-letter API' });
    expect(letter).toMatchObject({
      original_topic: 'execution_commands',
      original_partition: partitionOf(key, PARTITIONS),
      consumer_group: 'execution-owners',
      attempts: 3,
      event_type: 'execution_requested',
      headers: { event_type: 'execution_requested' },
    });
    expect(letter.original_offset).toBeGreaterThanOrEqual(0);
    expect(letter.error).toMatch(/ZodError|invalid/i);
    expect((await t.api(`/admin/dlq/messages/${letter.message_id}`)).body).toMatchObject({ message_id: letter.message_id, payload: '{"event_type":"execution_requested","not":"an event"}' });
    const scrape = await (await fetch(`${t.base.replace('/api/v1', '')}/metrics`)).text();
    expect(scrape).toMatch(/^dlq_depth(_[a-z]+)?\{[^}]*\} [1-9]/m);
    expect(scrape).toMatch(/^dlq_oldest_age_seconds(_seconds)?\{[^}]*\} \d/m);

    const discard = await t.api(`/admin/dlq/messages/${letter.message_id}?reason=unparseable`, { method: 'DELETE' });
    expect(discard.status).toBe(200);
    expect((await t.api(`/admin/dlq/messages/${letter.message_id}`)).status).toBe(404);
    expect((await t.api('/admin/dlq/messages?topic=execution_commands')).body.messages.some((m: any) => m.key === key)).toBe(false);
  });

  it('a message that failed while the store was down is retried after the fix and processed like the original', async () => {
    broken.on = true;
    const id = await t.submit('print("notify me")');
    await t.stream(id);
    const letter = await waitFor(async () => {
      const res = await t.api('/admin/dlq/messages?consumer_group=notifications&status=pending');
      return res.body.messages.find((m: any) => m.event?.aggregate_id === id);
    }, { message: 'the failed notification event in the dead-letter API' });
    // Events are retried by their own policy (RETRY_POLICIES): five attempts before the dead letter.
    expect(letter).toMatchObject({ original_topic: 'execution_events', event_type: 'execution_completed', key: id, error: 'Error: notification store is down', attempts: 5 });
    const listed = async () => (await t.api('/notifications')).body.notifications.filter((n: any) => n.action_url?.includes(id) || n.body?.includes(id));
    expect(await listed()).toEqual([]);

    broken.on = false;
    const retried = await t.api(`/admin/dlq/messages/${letter.message_id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'retried', retry_count: 1 });
    const made = await waitFor(async () => {
      const found = await listed();
      return found.length > 0 ? found : null;
    }, { message: 'the notification made from the retried event' });
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ channel: 'in_app', severity: expect.any(String) });
    // A second retry is a redelivery of the same event: idempotency keeps it to one notification.
    expect((await t.api('/admin/dlq/retry', { method: 'POST', json: { message_ids: [letter.message_id] } })).body).toMatchObject({ successful: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(await listed()).toHaveLength(1);
  });
});

describe('event store admin on a real node', () => {
  it('streams a CSV export of many events in chunks, and it parses', async () => {
    const COUNT = 3000;
    // Written through a second connection to the node's file, as another process would.
    const db = openDataDir(t.dir.path);
    const store = createSqliteDocumentStore(db);
    try {
      const events = new EventStore(store);
      for (let i = 0; i < COUNT; i++) {
        const id = `bulk-${i}`;
        await events.append(stampEvent('execution_cancel_requested', id, { execution_id: id, reason: `line ${i}, with "quotes"\nand a break` }, { user_id: 'bulk-user' }));
      }
    } finally {
      await store.close();
    }

    const port = Number(new URL(t.base).port);
    const socket = await connect(port);
    const cookie = t.session.headers()['cookie']!;
    socket.write(`GET /api/v1/admin/events/export/csv?user_id=bulk-user&limit=50000 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
    const raw = await readUntil(socket, (text) => text.endsWith('\r\n0\r\n\r\n'), 30_000);
    socket.destroy();
    const headEnd = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, headEnd).toLowerCase();
    expect(head).toMatch(/^http\/1\.1 200/);
    expect(head).toContain('transfer-encoding: chunked');
    expect(head).not.toContain('content-length');
    expect(head).toContain('content-type: text/csv');

    // Undo the chunked framing, counting the chunks: a header chunk and one per page of events read.
    let rest = raw.slice(headEnd + 4);
    let body = '';
    let chunks = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, eol), 16);
      if (size === 0) break;
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    const text = Buffer.from(body, 'latin1').toString('utf8');
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['event_id', 'event_type', 'timestamp', 'aggregate_id', 'user_id', 'service_name', 'correlation_id', 'payload']);
    expect(rows).toHaveLength(COUNT + 1);
    const ids = new Set(rows.slice(1).map((r) => r[3]));
    expect(ids.size).toBe(COUNT);
    const sample = rows.find((r) => r[3] === 'bulk-7')!;
    expect(JSON.parse(sample[7]!)).toEqual({ execution_id: 'bulk-7', reason: 'line 7, with "quotes"\nand a break' });
  }, 60_000);
});

/** A strict RFC 4180 reader (quoted cells, doubled quotes, CRLF rows) for checking the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  if (cell !== '' || row.length) throw new Error('the export does not end with a complete row');
  return rows;
}
