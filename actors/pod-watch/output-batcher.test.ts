import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutputPiece } from '../../system/domain/live-output.js';
import { OutputBatcher, prefixOfBytes } from './output-batcher.js';

let flushed: OutputPiece[][];
const make = (capBytes = 1_000_000, extra: { skip?: { stdout: number; stderr: number }; flushBytes?: number } = {}) =>
  new OutputBatcher({ capBytes, flushMs: 50, flushBytes: 8192, ...extra }, (pieces) => flushed.push(pieces));
const out = (text: string) => ({ stream: 'stdout' as const, text });
const err = (text: string) => ({ stream: 'stderr' as const, text });

beforeEach(() => {
  vi.useFakeTimers();
  flushed = [];
});
afterEach(() => vi.useRealTimers());

describe('OutputBatcher', () => {
  it('flushes 50 ms after the first pending byte, joining what came meanwhile', () => {
    const b = make();
    b.push(out('a'));
    vi.advanceTimersByTime(30);
    b.push(out('b'));
    vi.advanceTimersByTime(19);
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushed).toEqual([[{ stream: 'stdout', text: 'ab', truncated: false }]]);
    vi.advanceTimersByTime(500);
    expect(flushed).toHaveLength(1);
  });

  it('flushes at once when 8 KB are pending, in pieces of at most 8 KB', () => {
    const b = make();
    b.push(out('x'.repeat(20_000)));
    expect(flushed).toHaveLength(1);
    expect(flushed[0]!.map((p) => p.text.length)).toEqual([8192, 8192, 3616]);
    b.push(out('y'.repeat(8191)));
    expect(flushed).toHaveLength(1);
    b.push(out('y'));
    expect(flushed).toHaveLength(2);
  });

  it('keeps arrival order across streams: a stream switch starts a new piece', () => {
    const b = make();
    b.push(out('1'));
    b.push(err('2'));
    b.push(out('3'));
    b.push(out('4'));
    vi.advanceTimersByTime(50);
    expect(flushed[0]!.map((p) => [p.stream, p.text])).toEqual([
      ['stdout', '1'],
      ['stderr', '2'],
      ['stdout', '34'],
    ]);
  });

  it('cuts each stream at the cap, marks the cut piece truncated and drops the rest', () => {
    const b = make(10);
    b.push(out('12345678'));
    b.push(out('90abc'));
    expect(flushed).toEqual([[{ stream: 'stdout', text: '1234567890', truncated: true }]]);
    b.push(out('more'));
    b.push(err('e'));
    vi.advanceTimersByTime(50);
    expect(flushed[1]).toEqual([{ stream: 'stderr', text: 'e', truncated: false }]);
    expect(b.finish({ stdoutTruncated: true, stderrTruncated: false })).toEqual([]);
  });

  it('never splits a character at the cap or between pieces', () => {
    expect(prefixOfBytes('aé', 2)).toBe('a');
    const b = make(5, { flushBytes: 4 });
    b.push(out('éééé'));
    const pieces = flushed.flat();
    expect(pieces.map((p) => p.text)).toEqual(['éé']);
    expect(pieces.at(-1)!.truncated).toBe(true);
  });

  it('finish() returns what is pending and flags a truncation only the backend saw', () => {
    const b = make(3);
    b.push(out('abc'));
    expect(b.finish({ stdoutTruncated: true, stderrTruncated: false })).toEqual([
      { stream: 'stdout', text: 'abc', truncated: false },
      { stream: 'stdout', text: '', truncated: true },
    ]);
    b.push(out('late'));
    vi.advanceTimersByTime(100);
    expect(flushed).toEqual([]);
  });

  it('skips the bytes an earlier watch of the run already published', () => {
    const b = make(6, { skip: { stdout: 4, stderr: 0 } });
    b.push(out('ab'));
    b.push(out('cdef'));
    b.push(out('ghi'));
    // the skipped bytes count towards the cap: they were published before
    expect(flushed).toEqual([[{ stream: 'stdout', text: 'ef', truncated: true }]]);
  });
});
