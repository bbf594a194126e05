/** The CodeMirror extensions of the script editor, with compartments for what settings change at run time. */
import { autocompletion, closeBrackets, closeBracketsKeymap, completeAnyWord, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, foldGutter, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { oneDark } from '@codemirror/theme-one-dark';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import type { EditorSettings } from '../api/types';
import { languageMode } from './modes';

/** Everything settings and the language picker reconfigure. */
export const compartments = {
  language: new Compartment(),
  theme: new Compartment(),
  lineNumbers: new Compartment(),
  wrap: new Compartment(),
  indent: new Compartment(),
  font: new Compartment(),
};

/** The editor's language mode for an API `lang` (plain text for an unknown one). */
export function languageExtension(lang: string): Extension {
  return languageMode(lang);
}

export function themeExtension(dark: boolean): Extension {
  return dark ? oneDark : syntaxHighlighting(defaultHighlightStyle, { fallback: true });
}

export function lineNumbersExtension(show: boolean): Extension {
  return show ? [lineNumbers(), foldGutter(), highlightActiveLineGutter()] : [];
}

export function wrapExtension(wrap: boolean): Extension {
  return wrap ? EditorView.lineWrapping : [];
}

export function indentExtension(prefs: Pick<EditorSettings, 'tab_size' | 'use_tabs'>): Extension {
  return [EditorState.tabSize.of(prefs.tab_size), indentUnit.of(prefs.use_tabs ? '\t' : ' '.repeat(prefs.tab_size))];
}

export function fontExtension(px: number): Extension {
  return EditorView.theme({ '&': { fontSize: `${px}px` }, '.cm-content, .cm-gutters': { fontSize: `${px}px` } });
}

/** The full extension list for a new editor. */
export function editorExtensions(opts: {
  lang: string;
  dark: boolean;
  prefs: EditorSettings;
  onChange: (doc: string) => void;
  onRun: () => void;
}): Extension[] {
  return [
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    autocompletion(),
    // Words already in the script complete in every language, also those without a completion source.
    EditorState.languageData.of(() => [{ autocomplete: completeAnyWord }]),
    highlightActiveLine(),
    highlightSelectionMatches(),
    keymap.of([
      { key: 'Mod-Enter', run: () => (opts.onRun(), true), preventDefault: true },
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...searchKeymap,
      ...historyKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    compartments.language.of(languageExtension(opts.lang)),
    compartments.theme.of(themeExtension(opts.dark)),
    compartments.lineNumbers.of(lineNumbersExtension(opts.prefs.show_line_numbers)),
    compartments.wrap.of(wrapExtension(opts.prefs.word_wrap)),
    compartments.indent.of(indentExtension(opts.prefs)),
    compartments.font.of(fontExtension(opts.prefs.font_size)),
    EditorView.contentAttributes.of({ 'aria-label': 'Script editor' }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) opts.onChange(update.state.doc.toString());
    }),
  ];
}
