/**
 * Entry of the worker thread that hosts the bwrap backend for threaded.ts: starts createBwrapSandbox with the
 * options in workerData, reports its runtimes (or why it could not start), then serves one Sandbox call per
 * request. Forking launchers, cgroup work and output handling happen here, off the caller's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Sandbox } from '../../system/ports/sandbox.js';
import { createBwrapSandbox } from './bwrap.js';
import type { SandboxWorkerData } from './threaded.js';
import { toWire, type WorkerReply, type WorkerRequest } from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('sandbox-worker.ts runs only as a worker thread (see threaded.ts)');
const send = (reply: WorkerReply): void => port.postMessage(reply);

/** Serves one request; every request gets exactly one result or error reply. */
async function serve(sandbox: Sandbox, req: WorkerRequest): Promise<unknown> {
  switch (req.type) {
    case 'start':
      return sandbox.start(req.spec);
    case 'watch':
      return sandbox.watch(req.handle, req.live ? (chunk) => send({ type: 'output', id: req.id, chunk }) : undefined);
    case 'stop':
      return sandbox.stop(req.handle);
    case 'write':
      return sandbox.write(req.handle, req.data, req.eof);
    case 'reattach':
      return sandbox.reattach(req.handle);
    case 'ready':
      return sandbox.ready();
    case 'close':
      return sandbox.close();
  }
}

try {
  const sandbox = await createBwrapSandbox((workerData as SandboxWorkerData).opts);
  port.on('message', (req: WorkerRequest) => {
    serve(sandbox, req).then(
      (value) => send({ type: 'result', id: req.id, value }),
      (error: unknown) => send({ type: 'error', id: req.id, error: toWire(error) }),
    );
  });
  send({ type: 'up', runtimes: sandbox.runtimes.list() });
} catch (error) {
  send({ type: 'down', error: toWire(error) });
  port.close();
}
