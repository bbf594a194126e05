import { describe, expect, it } from 'vitest';
import { CappedOutput } from './output.js';

describe('CappedOutput', () => {
  it('keeps everything under the cap and tells the listener as it goes', () => {
    const seen: string[] = [];
    const out = new CappedOutput(100, (t) => seen.push(t));
    out.push(Buffer.from('hello '));
    out.push(Buffer.from('world'));
    out.end();
    expect(out.text()).toBe('hello world');
    expect(seen).toEqual(['hello ', 'world']);
    expect(out.truncated).toBe(false);
    expect(out.bytes).toBe(11);
  });

  it('keeps exactly the cap and flags the rest as truncated', () => {
    const out = new CappedOutput(10);
    out.push(Buffer.from('0123456'));
    out.push(Buffer.from('789abc'));
    out.push(Buffer.from('more'));
    out.end();
    expect(out.text()).toBe('0123456789');
    expect(out.truncated).toBe(true);
    expect(out.bytes).toBe(10);
  });

  it('is not truncated when the output is exactly the cap', () => {
    const out = new CappedOutput(4);
    out.push(Buffer.from('abcd'));
    out.end();
    expect(out.truncated).toBe(false);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('ä€😀');
    const out = new CappedOutput(100);
    for (const b of bytes) out.push(Buffer.from([b]));
    out.end();
    expect(out.text()).toBe('ä€😀');
  });

  it('replaces a character cut by the cap instead of failing', () => {
    const out = new CappedOutput(3);
    out.push(Buffer.from('a€')); // 1 + 3 bytes
    out.end();
    expect(out.text()).toBe('a\uFFFD');
    expect(out.truncated).toBe(true);
  });

  it('drains a large stream without keeping it', () => {
    const out = new CappedOutput(1024);
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    for (let i = 0; i < 800; i++) out.push(chunk); // 50 MiB
    out.end();
    expect(out.text().length).toBe(1024);
    expect(out.truncated).toBe(true);
  });

  it('ignores chunks after end', () => {
    const out = new CappedOutput(100);
    out.push(Buffer.from('a'));
    out.end();
    out.push(Buffer.from('b'));
    expect(out.text()).toBe('a');
  });
});
