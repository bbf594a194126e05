import { describe, expect, it } from 'vitest';
import { AnsiParser, approximate256 } from './ansi';

const parse = (...chunks: string[]) => {
  const p = new AnsiParser();
  return chunks.flatMap((c) => p.push(c));
};

describe('AnsiParser', () => {
  it('turns SGR colours and attributes into classes and resets them', () => {
    expect(parse('plain \x1b[1;31mbold red\x1b[0m back')).toEqual([
      { text: 'plain ', classes: '' },
      { text: 'bold red', classes: 'ansi-fg-1 ansi-bold' },
      { text: ' back', classes: '' },
    ]);
  });

  it('knows bright, background, 256-colour and 24-bit colours', () => {
    expect(parse('\x1b[92;44mx')).toEqual([{ text: 'x', classes: 'ansi-fg-10 ansi-bg-4' }]);
    expect(parse('\x1b[38;5;9my')).toEqual([{ text: 'y', classes: 'ansi-fg-9' }]);
    expect(parse('\x1b[38;2;255;0;0mz')).toEqual([{ text: 'z', classes: 'ansi-fg-9' }]);
    expect(approximate256(196)).toBe(9);
  });

  it('keeps the style and a cut escape sequence across chunks', () => {
    expect(parse('\x1b[3', '2mgreen', ' still')).toEqual([
      { text: 'green', classes: 'ansi-fg-2' },
      { text: ' still', classes: 'ansi-fg-2' },
    ]);
  });

  it('drops other escape sequences and control characters but keeps the text as text', () => {
    const out = parse('\x1b[2J\x1b[Ha\x07b\x1b]0;title\x07c <script>alert(1)</script>');
    expect(out).toEqual([{ text: 'abc <script>alert(1)</script>', classes: '' }]);
  });

  it('keeps newlines and carriage returns for the line model', () => {
    expect(parse('1\n2\r3')).toEqual([{ text: '1\n2\r3', classes: '' }]);
  });
});
