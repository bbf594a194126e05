import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { AdminSettingsSchema, type AdminSettings } from '../domain/admin-settings.js';
import type { Collection, DocumentStore } from '../ports/document-store.js';

/** One field an admin changed, with its value before and after. */
export const SettingChangeSchema = z.object({ field: z.string(), old_value: z.unknown(), new_value: z.unknown() });
export type SettingChange = z.infer<typeof SettingChangeSchema>;

/** One audited settings change (collection `admin_settings_audit`): who, when, and old → new per field. */
export const SettingsAuditEntrySchema = z.object({
  id: z.string(),
  timestamp: z.string(),
  user_id: z.string().nullable(),
  action: z.enum(['update', 'reset']),
  changes: z.array(SettingChangeSchema),
});
export type SettingsAuditEntry = z.infer<typeof SettingsAuditEntrySchema>;

/** The admin's overrides of the Config-derived defaults (collection `admin_settings`, one document). */
interface OverridesDoc {
  id: 'current';
  overrides: Record<string, unknown>;
  updated_at: string;
  updated_by: string | null;
}

const CURRENT = 'current';

/** Admin settings: only the fields an admin set (defaults come from Config at every start), plus the audit trail. */
export class AdminSettingsStore {
  private readonly docs: Collection<OverridesDoc>;
  private readonly trail: Collection<SettingsAuditEntry>;

  constructor(store: DocumentStore) {
    this.docs = store.collection<OverridesDoc>('admin_settings');
    this.trail = store.collection<SettingsAuditEntry>('admin_settings_audit', { indexes: ['timestamp'] });
  }

  /** The stored overrides; a field whose stored value no longer validates is dropped (its default applies). */
  async overrides(): Promise<Partial<AdminSettings>> {
    const doc = await this.docs.get(CURRENT);
    const out: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(doc?.overrides ?? {})) {
      const schema = AdminSettingsSchema.shape[field as keyof AdminSettings];
      if (schema?.safeParse(value).success) out[field] = value;
    }
    return out as Partial<AdminSettings>;
  }

  /** Replaces the overrides (an empty object is a reset). */
  saveOverrides(overrides: Partial<AdminSettings>, by: string | null): Promise<void> {
    return this.docs.put({ id: CURRENT, overrides, updated_at: new Date().toISOString(), updated_by: by });
  }

  /** Appends an audit entry; ids are time-ordered so the trail reads back in order. */
  async record(entry: Omit<SettingsAuditEntry, 'id' | 'timestamp'>): Promise<SettingsAuditEntry> {
    const full = SettingsAuditEntrySchema.parse({ ...entry, id: uuidv7(), timestamp: new Date().toISOString() });
    await this.trail.insert(full);
    return full;
  }

  /** The audit trail, newest first. */
  async audit(page: { limit: number; skip: number }): Promise<{ entries: SettingsAuditEntry[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.trail.find({}, { sort: { id: -1 }, limit: page.limit, skip: page.skip }),
      this.trail.count({}),
    ]);
    return { entries: rows.map((r) => SettingsAuditEntrySchema.parse(r)), total };
  }
}
