/** The six languages the platform runs: the API's `lang`, a display name, and the file extensions they go by. */

export interface LanguageInfo {
  lang: string;
  label: string;
  extensions: readonly string[];
}

export const LANGUAGES: readonly LanguageInfo[] = [
  { lang: 'python', label: 'Python', extensions: ['py'] },
  { lang: 'node', label: 'JavaScript', extensions: ['js', 'mjs', 'cjs'] },
  { lang: 'typescript', label: 'TypeScript', extensions: ['ts', 'mts'] },
  { lang: 'ruby', label: 'Ruby', extensions: ['rb'] },
  { lang: 'go', label: 'Go', extensions: ['go'] },
  { lang: 'bash', label: 'Bash', extensions: ['sh', 'bash'] },
];

/** The language entry for an API `lang`, or undefined. */
export function languageInfo(lang: string): LanguageInfo | undefined {
  return LANGUAGES.find((l) => l.lang === lang);
}

/** The language of a file name by its extension, or undefined. */
export function languageOfFile(fileName: string): LanguageInfo | undefined {
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase();
  return LANGUAGES.find((l) => l.extensions.includes(ext));
}

/** The file name to download a script as: its name (made safe) with the language's extension. */
export function downloadName(name: string, lang: string): string {
  const ext = languageInfo(lang)?.extensions[0] ?? 'txt';
  const base = name.trim().replace(/\.[A-Za-z0-9]+$/, '').replace(/[^\w.-]+/g, '_') || 'script';
  return `${base}.${ext}`;
}
