/** A run's standard input after start: writes go, in call order, through one attach to the running container. */
import { SandboxFault } from '../../system/ports/sandbox.js';
import type { KubeApi, StdinConnection } from './kube-api.js';

/** The input channel of one pod started with keepStdinOpen. */
export class PodStdin {
  private chain: Promise<void> = Promise.resolve();
  private connection: Promise<StdinConnection> | null = null;
  private closed = false;

  constructor(
    private readonly api: KubeApi,
    private readonly name: string,
    /** Resolves true once the container runs, false when the run ended first (writes are then dropped). */
    private readonly running: () => Promise<boolean>,
  ) {}

  /** Writes `data`, then closes the input when `eof`; a no-op once closed. */
  write(data: string, eof: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (eof) this.closed = true;
    const step = this.chain.then(async () => {
      if (!(await this.running())) return;
      this.connection ??= this.api.attachStdin(this.name);
      const conn = await this.connection;
      if (data) await conn.write(data);
      if (eof) await conn.close();
    });
    this.chain = step.catch(() => {});
    return step.catch((err: unknown) => {
      throw err instanceof SandboxFault ? err : new SandboxFault(`cannot write to the input of pod ${this.name}: ${String(err)}`, { cause: err });
    });
  }

  /** Closes an open attach (the run ended). */
  dispose(): void {
    this.closed = true;
    void this.connection?.then((c) => c.close()).catch(() => {});
  }
}
