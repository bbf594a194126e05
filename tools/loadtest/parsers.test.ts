import { describe, expect, it } from 'vitest';
import { CookieJar } from './cookie-jar.js';
import { firstResponseEnd } from './raw-http.js';
import { Rng } from './rng.js';
import { SseParser } from './sse-reader.js';
import { formatProgress } from './progress.js';
import { memoryFromJson, memoryFromPrometheus } from './target-memory.js';

describe('SseParser', () => {
  const stream =
    'retry: 2000\n\n' +
    'data: {"event_type":"status"}\n\n' +
    ': heartbeat\n\n' +
    'id: 7\r\nevent: notification\r\ndata: line one\r\ndata: line two\r\n\r\n' +
    'data: last\r\r';

  it('parses frames whatever the chunking', () => {
    const whole = new SseParser().push(stream, 1);
    expect(whole).toEqual([
      { data: '{"event_type":"status"}', receivedAt: 1 },
      { id: '7', event: 'notification', data: 'line one\nline two', receivedAt: 1 },
      { id: '7', data: 'last', receivedAt: 1 },
    ]);
    for (let size = 1; size < 12; size++) {
      const p = new SseParser();
      const out = [];
      const bytes = Buffer.from(stream);
      for (let i = 0; i < bytes.length; i += size) out.push(...p.push(bytes.subarray(i, i + size), 1));
      expect(out).toEqual(whole);
    }
  });

  it('keeps multi-byte characters split across chunks', () => {
    const bytes = Buffer.from('data: héllo 😀\n\n');
    const p = new SseParser();
    const out = [...p.push(bytes.subarray(0, 8)), ...p.push(bytes.subarray(8, 14)), ...p.push(bytes.subarray(14))];
    expect(out.map((e) => e.data)).toEqual(['héllo 😀']);
  });
});

describe('CookieJar', () => {
  it('stores, sends back and expires cookies like a browser', () => {
    const jar = new CookieJar();
    jar.update(['access_token=abc; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict', 'csrf_token=n%2Bx.sig; Path=/; Max-Age=86400'], 0);
    expect(jar.header('/api/v1/execute', 1000)).toBe('access_token=abc; csrf_token=n%2Bx.sig');
    expect(jar.get('csrf_token')).toBe('n+x.sig'); // echoed decoded, as the SPA reads it
    jar.update(['access_token=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], 2000);
    expect(jar.has('access_token')).toBe(false);
    expect(jar.header('/', 2000)).toBe('csrf_token=n%2Bx.sig');
    jar.update(['scoped=1; Path=/api/v1/admin'], 0);
    expect(jar.header('/api/v1/admin/users', 0)).toContain('scoped=1');
    expect(jar.header('/api/v1/administrator', 0)).not.toContain('scoped=1');
    expect(jar.header('/', 86_400_001)).toBeUndefined(); // all expired
  });
});

describe('raw HTTP response framing', () => {
  it('finds the end of the first final response', () => {
    expect(firstResponseEnd('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')).toEqual({ status: 200, end: 40 });
    expect(firstResponseEnd('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok')).toBe('incomplete');
    expect(firstResponseEnd('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n')).toMatchObject({ status: 401 });
    expect(firstResponseEnd('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n')).toMatchObject({ status: 200 });
    expect(firstResponseEnd('garbage\r\n\r\n')).toBeNull();
  });
});

describe('target memory', () => {
  it('reads RSS from JSON fields and Prometheus text', () => {
    expect(memoryFromJson({ status: 'ok', checks: {} })).toBeNull();
    expect(memoryFromJson({ process: { memory_rss_bytes: 1234, heap_used_bytes: 10 } })).toBe(1234);
    expect(memoryFromJson({ memory: { rss_mb: 2 } })).toBe(2 * 1024 * 1024);
    expect(memoryFromPrometheus('# HELP x\nprocess_resident_memory_bytes 5.5e7\nother 1\n')).toBe(55_000_000);
    expect(memoryFromPrometheus('# TYPE process_memory_rss_bytes gauge\nprocess_memory_rss_bytes{node="a"} 1234\n')).toBe(1234);
    expect(memoryFromPrometheus('nothing here')).toBeNull();
  });
});

describe('Rng and progress', () => {
  it('repeats a sequence for a seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(42).fork(1).next()).toBe(new Rng(42).fork(1).next());
    expect(new Rng(42).fork(1).next()).not.toBe(new Rng(42).fork(2).next());
  });

  it('formats the progress line', () => {
    expect(formatProgress({ elapsedS: 5, durationS: 10, requests: 1234, errors: 2, rps: 311.6, open: 12, extra: { users: 10 } })).toBe(
      '[##########----------] 5.0/10s  req 1234  err 2  rps 312  conn 12  users 10',
    );
    expect(formatProgress({ elapsedS: 1, durationS: 10, requests: 1, errors: 0, rps: 1, open: 1 }, false)).toBe('1.0/10s  req 1  err 0  rps 1  conn 1');
  });
});
