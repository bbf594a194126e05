/** The script being edited: content, language, version, name and saved-script id, kept across reloads. */

const KEY = 'integr8s.draft';

export interface DraftValues {
  name: string;
  script: string;
  lang: string;
  lang_version: string;
  scriptId: string | null;
}

function restore(): DraftValues | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as DraftValues) : null;
  } catch {
    return null;
  }
}

class Draft implements DraftValues {
  name = $state('');
  script = $state('');
  lang = $state('python');
  lang_version = $state('');
  scriptId = $state<string | null>(null);
  /** True when a draft was restored from this browser (examples must not overwrite it). */
  readonly restored: boolean;

  constructor() {
    const saved = restore();
    this.restored = saved !== null;
    if (saved) Object.assign(this, saved);
  }

  /** Writes the draft to local storage. */
  persist(): void {
    const values: DraftValues = { name: this.name, script: this.script, lang: this.lang, lang_version: this.lang_version, scriptId: this.scriptId };
    localStorage.setItem(KEY, JSON.stringify(values));
  }
}

/** The editor's draft. */
export const draft = new Draft();
