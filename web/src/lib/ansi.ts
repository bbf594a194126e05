/**
 * ANSI escape sequences in program output → styled text segments. Only SGR (colours, bold, dim, italic,
 * underline, inverse) becomes style, as class names; every other escape sequence is dropped. The text is
 * kept as text: the view renders it as text nodes, so nothing in program output is ever parsed as HTML.
 */

/** A run of text with one style: `classes` is a space-separated list of `ansi-*` class names. */
export interface Segment {
  text: string;
  classes: string;
}

interface Style {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };

/** CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-byte escapes. */
const ESCAPE = /\x1b(?:\[([0-9;?<>=!]*)([\x40-\x7e])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x40-\x5f])/g;
/** An escape sequence cut at the end of a chunk, to be completed by the next one. */
const TRAILING_PARTIAL = /\x1b(?:\[[0-9;?<>=!]*|\][^\x07\x1b]*|)$/;
// Control characters other than tab and newline are shown as nothing (a bell must not ring, a NUL not print).
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

/** Parses a stream of text chunk by chunk; keeps the style and any cut escape sequence between chunks. */
export class AnsiParser {
  private style: Style = { ...PLAIN };
  private pending = '';

  /** Splits a chunk into styled segments (newlines and `\r` stay in the text). */
  push(chunk: string): Segment[] {
    let text = this.pending + chunk;
    this.pending = '';
    const cut = TRAILING_PARTIAL.exec(text);
    if (cut && cut[0].length > 0 && cut[0].length < 64) {
      this.pending = cut[0];
      text = text.slice(0, cut.index);
    }
    const out: Segment[] = [];
    let last = 0;
    ESCAPE.lastIndex = 0;
    for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
      this.emit(out, text.slice(last, m.index));
      last = m.index + m[0].length;
      if (m[2] === 'm') this.applySgr(m[1] ?? '');
    }
    this.emit(out, text.slice(last));
    return out;
  }

  private emit(out: Segment[], raw: string): void {
    const text = raw.replace(CONTROL, '');
    if (text === '') return;
    const classes = classesOf(this.style);
    const prev = out[out.length - 1];
    if (prev && prev.classes === classes) prev.text += text;
    else out.push({ text, classes });
  }

  private applySgr(params: string): void {
    const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number(p)));
    const s = this.style;
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      if (c === 0) Object.assign(s, PLAIN);
      else if (c === 1) s.bold = true;
      else if (c === 2) s.dim = true;
      else if (c === 3) s.italic = true;
      else if (c === 4) s.underline = true;
      else if (c === 7) s.inverse = true;
      else if (c === 22) s.bold = s.dim = false;
      else if (c === 23) s.italic = false;
      else if (c === 24) s.underline = false;
      else if (c === 27) s.inverse = false;
      else if (c >= 30 && c <= 37) s.fg = c - 30;
      else if (c === 39) s.fg = null;
      else if (c >= 40 && c <= 47) s.bg = c - 40;
      else if (c === 49) s.bg = null;
      else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
      else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
      else if (c === 38 || c === 48) {
        // 38;5;n (256 colours: the 16 basic ones are kept, others approximated) or 38;2;r;g;b (approximated).
        const mode = codes[i + 1];
        let colour: number | null = null;
        if (mode === 5) {
          colour = approximate256(codes[i + 2] ?? 0);
          i += 2;
        } else if (mode === 2) {
          colour = approximateRgb(codes[i + 2] ?? 0, codes[i + 3] ?? 0, codes[i + 4] ?? 0);
          i += 4;
        }
        if (c === 38) s.fg = colour;
        else s.bg = colour;
      }
    }
  }
}

function classesOf(s: Style): string {
  const fg = s.inverse ? s.bg : s.fg;
  const bg = s.inverse ? (s.fg ?? 7) : s.bg;
  const parts: string[] = [];
  if (fg !== null) parts.push(`ansi-fg-${fg}`);
  if (bg !== null) parts.push(`ansi-bg-${bg}`);
  if (s.bold) parts.push('ansi-bold');
  if (s.dim) parts.push('ansi-dim');
  if (s.italic) parts.push('ansi-italic');
  if (s.underline) parts.push('ansi-underline');
  return parts.join(' ');
}

/** A 256-colour index as one of the 16 basic colours. */
export function approximate256(n: number): number {
  if (n < 16) return n;
  if (n >= 232) return n < 244 ? 8 : 7;
  const i = n - 16;
  return approximateRgb(Math.floor(i / 36) * 51, (Math.floor(i / 6) % 6) * 51, (i % 6) * 51);
}

/** A 24-bit colour as one of the 16 basic colours. */
export function approximateRgb(r: number, g: number, b: number): number {
  const bright = Math.max(r, g, b) > 191;
  const bit = (v: number) => (v > 95 ? 1 : 0);
  const base = bit(r) | (bit(g) << 1) | (bit(b) << 2);
  return base + (bright && base !== 0 ? 8 : 0);
}
