import type { Collection, DocumentStore } from '../ports/document-store.js';
import { SavedScriptSchema, type SavedScript } from '../domain/scripts.js';

type ScriptRow = SavedScript & { id: string };

/** Saved scripts (collection `saved_scripts`, keyed by script_id), validated on the way out. */
export class ScriptStore {
  private readonly rows: Collection<ScriptRow>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<ScriptRow>('saved_scripts', { indexes: ['user_id', 'updated_at'] });
  }

  /** Adds a new script; throws DuplicateKeyError for a reused id. */
  create(script: SavedScript): Promise<void> {
    return this.rows.insert(toRow(script));
  }

  /** The script, whoever owns it; null when absent. */
  async get(scriptId: string): Promise<SavedScript | null> {
    const row = await this.rows.get(scriptId);
    return row ? fromRow(row) : null;
  }

  /** Replaces a script. */
  put(script: SavedScript): Promise<void> {
    return this.rows.put(toRow(script));
  }

  /** A user's scripts, most recently changed first. */
  async listFor(userId: string): Promise<SavedScript[]> {
    const rows = await this.rows.find({ user_id: userId }, { sort: { updated_at: -1 } });
    return rows.map(fromRow);
  }

  delete(scriptId: string): Promise<boolean> {
    return this.rows.delete(scriptId);
  }

  /** Removes every script of a user; returns how many. */
  async deleteAllFor(userId: string): Promise<number> {
    const rows = await this.rows.find({ user_id: userId });
    let removed = 0;
    for (const row of rows) if (await this.rows.delete(row.id)) removed++;
    return removed;
  }
}

function toRow(script: SavedScript): ScriptRow {
  return { id: script.script_id, ...SavedScriptSchema.parse(script) };
}

function fromRow(row: ScriptRow): SavedScript {
  return SavedScriptSchema.parse(row);
}
