/** Languages the platform accepts (API names). */
export const LANGUAGES = ['python', 'node', 'typescript', 'ruby', 'go', 'bash'] as const;
export type Language = (typeof LANGUAGES)[number];

/** What a runtime registry reports for one language: versions really installed. */
export interface RuntimeInfo {
  lang: Language;
  versions: string[];
  fileExt: string;
}

/** Looks up installed runtimes; implemented by each sandbox backend. */
export interface RuntimeCatalogue {
  list(): RuntimeInfo[];
  find(lang: string): RuntimeInfo | undefined;
}

/** Why a lang/lang_version pair is not accepted, naming the field and listing what is supported. */
export function checkRuntime(
  catalogue: RuntimeCatalogue,
  lang: string,
  version: string,
): { ok: true; runtime: RuntimeInfo } | { ok: false; field: 'lang' | 'lang_version'; message: string } {
  const runtime = catalogue.find(lang);
  if (!runtime) {
    const supported = catalogue.list().map((r) => r.lang).join(', ');
    return { ok: false, field: 'lang', message: `unsupported language '${lang}'; supported: ${supported}` };
  }
  if (!runtime.versions.includes(version)) {
    return {
      ok: false,
      field: 'lang_version',
      message: `unsupported ${lang} version '${version}'; supported: ${runtime.versions.join(', ')}`,
    };
  }
  return { ok: true, runtime };
}
