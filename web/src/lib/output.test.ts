import { describe, expect, it } from 'vitest';
import { BLOCK_LINES, OutputBuffer } from './output.svelte';

const lines = (b: OutputBuffer) => b.blocks.flat().map((l) => l.segments.map((s) => s.text).join(''));

describe('OutputBuffer', () => {
  it('splits chunks into lines, joining a line cut across chunks', () => {
    const b = new OutputBuffer();
    b.append('stdout', 'hel');
    b.append('stdout', 'lo\nwor');
    b.append('stdout', 'ld\n');
    expect(lines(b)).toEqual(['hello', 'world']);
    expect(b.lineCount).toBe(2);
    expect(b.text('stdout')).toBe('hello\nworld\n');
  });

  it('marks stderr and starts it on its own line', () => {
    const b = new OutputBuffer();
    b.append('stdout', 'out without newline');
    b.append('stderr', 'err\n');
    expect(lines(b)).toEqual(['out without newline', 'err']);
    expect(b.blocks[0]![1]!.segments[0]!.classes).toBe('stream-stderr');
  });

  it('rewrites the line on a carriage return (progress bars)', () => {
    const b = new OutputBuffer();
    b.append('stdout', '10%\r50%');
    b.append('stdout', '\r100%\ndone\n');
    expect(lines(b)).toEqual(['100%', 'done']);
  });

  it('keeps ANSI styles as classes across chunks', () => {
    const b = new OutputBuffer();
    b.append('stdout', '\x1b[32mgreen\n');
    b.append('stdout', 'still green\x1b[0m plain\n');
    expect(b.blocks[0]![1]!.segments).toEqual([
      { text: 'still green', classes: 'ansi-fg-2' },
      { text: ' plain', classes: '' },
    ]);
  });

  it(`fills blocks of ${BLOCK_LINES} lines, so appending replaces only the last block`, () => {
    const b = new OutputBuffer();
    b.append('stdout', Array.from({ length: 450 }, (_, i) => `line ${i}\n`).join(''));
    const first = b.blocks[0];
    expect(b.blocks.map((block) => block.length)).toEqual([200, 200, 50]);
    b.append('stdout', 'one more\n');
    expect(b.blocks[0]).toBe(first);
    expect(b.lineCount).toBe(451);
    expect(lines(b).at(-1)).toBe('one more');
  });

  it('clears everything', () => {
    const b = new OutputBuffer();
    b.append('stdout', 'x\n');
    b.clear();
    expect(b.blocks).toEqual([]);
    expect(b.lineCount).toBe(0);
    expect(b.text('stdout')).toBe('');
  });
});
