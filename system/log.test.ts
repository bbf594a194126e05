import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withTrace } from './events/trace-context.js';
import { createLogger } from './log.js';

/** A logger writing into an array of parsed lines. */
function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger('trace', sink), lines };
}

const PASSWORD = 'hunter2-correct-horse';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJqdGkiOiJhYmMifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU';
const MONGO = 'mongodb://admin:Sup3rS3cret@db.internal:27017/integr8s?authSource=admin';

describe('node logger', () => {
  it('never writes a password, a JWT or URL credentials, wherever they appear', async () => {
    const { log, lines } = capture();
    log.info({ password: PASSWORD, user: { newPassword: PASSWORD } }, 'register');
    log.info({ headers: { cookie: `access_token=${JWT}; csrf_token=abc`, Authorization: `Bearer ${JWT}` } }, 'request');
    log.warn({ err: new Error(`connect to ${MONGO} failed: bad auth for password=${PASSWORD}`) }, 'store down');
    log.error(`token ${JWT} rejected for ${MONGO}`);
    log.info({ config: { mongoUrl: MONGO, redisUrl: 'redis://:r3dispass@cache:6379', nested: [{ secret_key: 'k'.repeat(40) }] } }, 'boot');
    log.info({ execution: { script: `print("${PASSWORD}")` } }, 'submitted');
    await new Promise((r) => setImmediate(r));
    const out = lines.join('\n');
    expect(lines).toHaveLength(6);
    for (const secret of [PASSWORD, JWT, 'Sup3rS3cret', 'r3dispass', 'k'.repeat(40)]) expect(out).not.toContain(secret);
    // What is left stays useful: hosts, usernames, message text, the error's type.
    expect(out).toContain('mongodb://admin:[redacted]@db.internal:27017');
    expect(out).toContain('store down');
    const warn = JSON.parse(lines[2]!);
    expect(warn.err.type).toBe('Error');
    expect(warn.err.message).toContain('failed: bad auth');
    expect(JSON.parse(lines[5]!).execution.script).toBe(`[${`print("${PASSWORD}")`.length} chars]`);
  });

  it('adds the trace and span ids of the work in progress', async () => {
    const { log, lines } = capture();
    withTrace('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', () => log.info('inside'));
    log.info('outside');
    await new Promise((r) => setImmediate(r));
    const [inside, outside] = lines.map((l) => JSON.parse(l));
    expect(inside.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(inside.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(outside.trace_id).toBeUndefined();
  });
});
