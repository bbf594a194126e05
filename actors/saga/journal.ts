import type { SagaRecord, SagaStore } from '../../system/stores/saga-store.js';
import type { SagaStep } from './messages.js';

/** Writes a saga's progress to the store at every step, so admins see it and a new owner can continue it. */
export class SagaJournal {
  private record: SagaRecord | null = null;

  constructor(
    private readonly store: SagaStore,
    private readonly executionId: string,
  ) {}

  private async load(): Promise<SagaRecord> {
    if (this.record) return this.record;
    const now = new Date().toISOString();
    this.record = (await this.store.get(this.executionId)) ?? {
      id: this.executionId,
      saga_id: this.executionId,
      saga_name: 'execution_saga',
      execution_id: this.executionId,
      state: 'created',
      current_step: null,
      completed_steps: [],
      compensated_steps: [],
      error_message: null,
      created_at: now,
      updated_at: now,
      completed_at: null,
      deadline_at: null,
    };
    return this.record;
  }

  private async save(patch: Partial<SagaRecord>): Promise<void> {
    const current = await this.load();
    this.record = { ...current, ...patch, updated_at: new Date().toISOString() };
    await this.store.put(this.record);
  }

  /** Marks the previous step done and a new one current; `extra` is written with it (a run's deadline). */
  async step(name: SagaStep, extra: Pick<Partial<SagaRecord>, 'deadline_at'> = {}): Promise<void> {
    const r = await this.load();
    const completed = r.current_step && !r.completed_steps.includes(r.current_step) ? [...r.completed_steps, r.current_step] : r.completed_steps;
    // A saga being compensated (cancelled mid-run) stays so until it ends.
    await this.save({ state: r.state === 'compensating' ? 'compensating' : 'running', current_step: name, completed_steps: completed, ...extra });
  }

  /** The deadline of the current run (null: none yet); a saga continued elsewhere re-arms its timer from it. */
  async deadline(at: string | null): Promise<void> {
    await this.save({ deadline_at: at });
  }

  /** The stored deadline of the current run, as a saga continuing it finds it. */
  async storedDeadline(): Promise<string | null> {
    return (await this.load()).deadline_at;
  }

  async compensating(error: string): Promise<void> {
    await this.save({ state: 'compensating', error_message: error });
  }

  async compensated(step: 'release' | 'stop_sandbox'): Promise<void> {
    const r = await this.load();
    await this.save({ compensated_steps: [...r.compensated_steps, step] });
  }

  async end(outcome: 'completed' | 'failed' | 'cancelled' | 'timeout', error: string | null): Promise<void> {
    const r = await this.load();
    const completed = outcome === 'completed' && r.current_step && !r.completed_steps.includes(r.current_step) ? [...r.completed_steps, r.current_step] : r.completed_steps;
    await this.save({
      state: outcome,
      completed_steps: completed,
      current_step: null,
      completed_at: new Date().toISOString(),
      ...(error ? { error_message: error } : {}),
    });
  }
}
