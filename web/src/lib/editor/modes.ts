/** The editor's syntax mode per API `lang`: lang-* packages where they exist, legacy modes for Ruby and shell. */
import { go } from '@codemirror/lang-go';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage } from '@codemirror/language';
import { ruby } from '@codemirror/legacy-modes/mode/ruby';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import type { Extension } from '@codemirror/state';

const MODES: Readonly<Record<string, () => Extension>> = {
  python: () => python(),
  node: () => javascript(),
  typescript: () => javascript({ typescript: true }),
  ruby: () => StreamLanguage.define(ruby),
  go: () => go(),
  bash: () => StreamLanguage.define(shell),
};

/** The mode for a language (plain text for one the editor does not know). */
export function languageMode(lang: string): Extension {
  return MODES[lang]?.() ?? [];
}
