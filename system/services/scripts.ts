import { errors } from '../domain/errors.js';
import { newId } from '../domain/events.js';
import { checkRuntime, type Language, type RuntimeCatalogue } from '../domain/runtimes.js';
import type { SavedScript, ScriptDraft, ScriptPatch } from '../domain/scripts.js';
import type { ScriptStore } from '../stores/script-store.js';

/** What the saved-scripts service needs. */
export interface ScriptServiceDeps {
  scripts: ScriptStore;
  runtimes: RuntimeCatalogue;
  clock?: () => Date;
}

/** Saved scripts: each user sees and changes only their own (another user's script is "not found"). */
export interface ScriptService {
  create(userId: string, draft: ScriptDraft): Promise<SavedScript>;
  list(userId: string): Promise<SavedScript[]>;
  get(userId: string, scriptId: string): Promise<SavedScript>;
  update(userId: string, scriptId: string, patch: ScriptPatch): Promise<SavedScript>;
  remove(userId: string, scriptId: string): Promise<void>;
  /** Removes every script of a user (an admin cascade-delete hook); returns counts by kind. */
  deleteAllFor(userId: string): Promise<Record<string, number>>;
}

/** Builds the saved-scripts service. */
export function createScriptService(deps: ScriptServiceDeps): ScriptService {
  const now = () => (deps.clock ?? (() => new Date()))().toISOString();

  const language = (lang: string, version: string): Language => {
    const check = checkRuntime(deps.runtimes, lang, version);
    if (!check.ok) throw errors.validation([{ field: check.field, message: check.message }]);
    return check.runtime.lang;
  };

  const owned = async (userId: string, scriptId: string): Promise<SavedScript> => {
    const script = await deps.scripts.get(scriptId);
    if (!script || script.user_id !== userId) throw errors.notFound('Script');
    return script;
  };

  return {
    async create(userId, draft) {
      const at = now();
      const script: SavedScript = {
        script_id: newId(),
        user_id: userId,
        name: draft.name,
        script: draft.script,
        lang: language(draft.lang, draft.lang_version),
        lang_version: draft.lang_version,
        description: draft.description ?? null,
        created_at: at,
        updated_at: at,
      };
      await deps.scripts.create(script);
      return script;
    },

    list: (userId) => deps.scripts.listFor(userId),

    get: owned,

    async update(userId, scriptId, patch) {
      const current = await owned(userId, scriptId);
      const lang = patch.lang ?? current.lang;
      const version = patch.lang_version ?? current.lang_version;
      const next: SavedScript = {
        ...current,
        name: patch.name ?? current.name,
        script: patch.script ?? current.script,
        lang: patch.lang !== undefined || patch.lang_version !== undefined ? language(lang, version) : current.lang,
        lang_version: version,
        description: patch.description === undefined ? current.description : patch.description,
        updated_at: now(),
      };
      await deps.scripts.put(next);
      return next;
    },

    async remove(userId, scriptId) {
      await owned(userId, scriptId);
      await deps.scripts.delete(scriptId);
    },

    deleteAllFor: async (userId) => ({ saved_scripts: await deps.scripts.deleteAllFor(userId) }),
  };
}
