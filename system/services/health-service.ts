import type { DocumentStore } from '../ports/document-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { Sandbox } from '../ports/sandbox.js';
import type { HealthService } from './types.js';

const started = Date.now();

/** Liveness, and readiness that checks every dependency this node uses. */
export function createHealthService(deps: { store: DocumentStore; eventLog: EventLog; bus: FanoutBus; sandbox: Sandbox }): HealthService {
  const check = async (f: () => Promise<unknown>): Promise<{ ok: boolean; detail: string }> => {
    try {
      await f();
      return { ok: true, detail: 'ok' };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    live: () => ({ status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000), timestamp: new Date().toISOString() }),
    async ready() {
      const checks = {
        store: await check(() => deps.store.ping()),
        event_log: await check(() => deps.eventLog.ping()),
        bus: await check(() => deps.bus.ping()),
        sandbox: await deps.sandbox.ready().catch((err: unknown) => ({ ok: false, detail: String(err) })),
      };
      const ok = Object.values(checks).every((c) => c.ok);
      return { status: ok ? 'ok' : 'unavailable', checks };
    },
  };
}
