/** One piece of the node with a start and a stop; boot starts them in order, shutdown stops them in reverse. */
export interface Component {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts components in order; if one fails, stops the ones already started (in reverse) and rethrows. */
export async function startAll(components: Component[]): Promise<Component[]> {
  const started: Component[] = [];
  try {
    for (const c of components) {
      await c.start();
      started.push(c);
    }
    return started;
  } catch (err) {
    await stopAll(started, 10_000);
    throw err;
  }
}

/** Stops components in reverse order, each within the deadline; a failing stop does not block the others. */
export async function stopAll(started: Component[], deadlineMs: number, onError?: (name: string, err: unknown) => void): Promise<void> {
  for (const c of [...started].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.stop(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${c.name} did not stop within ${deadlineMs} ms`)), deadlineMs);
        }),
      ]);
    } catch (err) {
      onError?.(c.name, err);
    } finally {
      clearTimeout(timer);
    }
  }
}
