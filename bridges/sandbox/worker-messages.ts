/**
 * The messages between the threaded bwrap backend (threaded.ts, on the caller's thread) and the worker thread
 * hosting the bwrap backend (sandbox-worker.ts): one request per Sandbox call, answered by one reply with the
 * same id; a live watch gets its output chunks first, on the same id.
 */
import type { RuntimeCatalogue, RuntimeInfo } from '../../system/domain/runtimes.js';
import { SandboxFault, type OutputChunk, type SandboxHandle, type SandboxOutcome, type SandboxSpec } from '../../system/ports/sandbox.js';

/** A Sandbox call, sent to the worker. */
export type WorkerRequest =
  | { type: 'start'; id: number; spec: SandboxSpec }
  | { type: 'watch'; id: number; handle: SandboxHandle; live: boolean }
  | { type: 'stop'; id: number; handle: SandboxHandle }
  | { type: 'write'; id: number; handle: SandboxHandle; data: string; eof: boolean }
  | { type: 'reattach'; id: number; handle: SandboxHandle }
  | { type: 'ready'; id: number }
  | { type: 'close'; id: number };

/** What each request resolves with. */
export interface WorkerResults {
  start: SandboxHandle;
  watch: SandboxOutcome;
  stop: void;
  write: void;
  reattach: SandboxHandle | null;
  ready: { ok: boolean; detail: string };
  close: void;
}

/** An error as it crosses the thread boundary; `fault` says it was a SandboxFault. */
export interface WireError {
  fault: boolean;
  name: string;
  message: string;
}

/** What the worker sends: the outcome of starting the backend once, then replies and live output. */
export type WorkerReply =
  | { type: 'up'; runtimes: RuntimeInfo[] }
  | { type: 'down'; error: WireError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'output'; id: number; chunk: OutputChunk };

/** Turns a thrown value into its wire form. */
export function toWire(error: unknown): WireError {
  if (error instanceof Error) return { fault: error instanceof SandboxFault, name: error.name, message: error.message };
  return { fault: false, name: 'Error', message: String(error) };
}

/** Re-creates a thrown value on the receiving side: a SandboxFault stays a SandboxFault. */
export function fromWire(wire: WireError): Error {
  if (wire.fault) return new SandboxFault(wire.message);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}

/** A runtime catalogue over a copied list (the worker's catalogue cannot cross the boundary). */
export function catalogueOf(runtimes: readonly RuntimeInfo[]): RuntimeCatalogue {
  const copy = (r: RuntimeInfo): RuntimeInfo => ({ ...r, versions: [...r.versions] });
  return {
    list: () => runtimes.map(copy),
    find: (lang) => {
      const r = runtimes.find((x) => x.lang === lang);
      return r && copy(r);
    },
  };
}
