import { z } from 'zod';
import { MAX_SCRIPT_CHARS } from './execution.js';
import { LANGUAGES } from './runtimes.js';

/** Size caps of a saved script, in characters (the script cap is the one POST /execute applies). */
export const SAVED_SCRIPT_LIMITS = { nameChars: 255, scriptChars: MAX_SCRIPT_CHARS, descriptionChars: 5_000 } as const;

/** A saved script as stored (collection `saved_scripts`, keyed by script_id). */
export const SavedScriptSchema = z.object({
  script_id: z.string(),
  user_id: z.string(),
  name: z.string(),
  script: z.string(),
  lang: z.enum(LANGUAGES),
  lang_version: z.string(),
  description: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type SavedScript = z.infer<typeof SavedScriptSchema>;

/** What a user supplies to create a script; lang and lang_version are checked against the runtimes. */
export interface ScriptDraft {
  name: string;
  script: string;
  lang: string;
  lang_version: string;
  description?: string | null;
}

/** A partial update: only the given fields change. */
export type ScriptPatch = Partial<ScriptDraft>;

/** The script as the API shows it: everything but the owner. */
export type ScriptView = Omit<SavedScript, 'user_id'>;

/** Domain → wire. */
export function toScriptView(script: SavedScript): ScriptView {
  const { user_id: _owner, ...view } = script;
  return view;
}
