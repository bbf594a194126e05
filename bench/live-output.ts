/**
 * The live-output part of bench:exec, against a running node: how long a printed line takes to reach an SSE client
 * (the program prints its clock, the client compares with its own: one machine, one clock), and how many output
 * frames per second a program printing as fast as it can sustains, with /health/live's latency meanwhile.
 */
import { spawn } from 'node:child_process';

/** Where the node is and how to call it as a signed-in client. */
export interface LiveOutputTarget {
  base: string;
  auth: Record<string, string>;
  pythonVersion: string;
}

/** What measureLiveOutput found. */
export interface LiveOutputFigures {
  printToFrameMs: number[];
  flood: { frames: number; bytes: number; seconds: number; truncated: boolean };
  healthMs: number[];
}

/** Lines printed per latency run, the pause between them, and the runs. */
const LINES = 60;
const PAUSE_S = 0.03;
const RUNS = 5;

async function submit(t: LiveOutputTarget, script: string): Promise<string> {
  const res = await fetch(`${t.base}/execute`, {
    method: 'POST',
    headers: { ...t.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ script, lang: 'python', lang_version: t.pythonVersion }),
  });
  if (res.status !== 200) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { execution_id: string }).execution_id;
}

interface OutputFrame {
  event_type: string;
  text?: string;
  truncated?: boolean;
}

/**
 * Polls a URL every 20 ms from a child process (this one is busy reading the flood, which would inflate what it
 * measures) until stop(); resolves with the latencies in ms.
 */
function probeHealth(url: string): { stop(): Promise<number[]> } {
  const script = `
    const times = [];
    let on = true;
    process.stdin.on('data', () => (on = false)).resume();
    (async () => {
      while (on) {
        const t0 = performance.now();
        await fetch(${JSON.stringify(url)}).then((r) => r.arrayBuffer());
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      process.stdout.write(JSON.stringify(times), () => process.exit(0));
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(out || '[]') as number[];
    },
  };
}

/** Reads an execution's stream to its end, calling `onOutput` with each output frame as it arrives. */
async function follow(t: LiveOutputTarget, id: string, onOutput: (f: OutputFrame, at: number) => void): Promise<void> {
  const res = await fetch(`${t.base}/events/executions/${id}`, { headers: { ...t.auth, accept: 'text/event-stream' } });
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const at = Date.now();
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const start = block.indexOf('data: ');
      if (start < 0) continue;
      const end = block.indexOf('\n', start);
      const frame = JSON.parse(block.slice(start + 6, end < 0 ? undefined : end)) as OutputFrame;
      if (frame.event_type === 'execution_output') onOutput(frame, at);
    }
  }
}

/** Runs the two measurements; the node's output cap bounds the flood (set SANDBOX_OUTPUT_KB for a longer one). */
export async function measureLiveOutput(t: LiveOutputTarget): Promise<LiveOutputFigures> {
  const printToFrameMs: number[] = [];
  const timestamps = `import time\nfor i in range(${LINES}):\n    print(f"{time.time() * 1000:.3f}")\n    time.sleep(${PAUSE_S})\n`;
  for (let run = 0; run < RUNS; run++) {
    const id = await submit(t, timestamps);
    await follow(t, id, (f, at) => {
      for (const line of (f.text ?? '').split('\n')) if (line) printToFrameMs.push(at - Number(line));
    });
  }

  const flood = { frames: 0, bytes: 0, seconds: 0, truncated: false };
  const probe = probeHealth(`${t.base}/health/live`);
  const id = await submit(t, 'import time\nt = time.time()\nwhile time.time() - t < 5:\n    print("x" * 99)\n');
  let first = 0;
  let last = 0;
  await follow(t, id, (f, at) => {
    first ||= at;
    last = at;
    flood.frames++;
    flood.bytes += Buffer.byteLength(f.text ?? '');
    flood.truncated ||= f.truncated === true;
  });
  const healthMs = await probe.stop();
  flood.seconds = Math.max(0.001, (last - first) / 1000);
  return { printToFrameMs, flood, healthMs };
}
