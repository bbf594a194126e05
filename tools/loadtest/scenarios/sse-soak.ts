/**
 * sse-soak mode: SSE fan-out. One soak user submits --rate executions per second; for each (a "batch") --clients
 * streams are opened on `/events/executions/{id}`, each on its own TCP connection, while the script is still
 * sleeping (--exec-sleep), so every stream is subscribed before the run's events happen. Each event the platform
 * publishes is then delivered N times, once per stream.
 *
 * Measured per frame and stream: delivery latency = receipt time − the `timestamp` the server put in the frame
 * (live frames only: a frame stamped before the stream's own first `status` frame is a replay, not a delivery);
 * fan-out spread = last − first receipt of the same frame across the batch's streams (client clock only);
 * missed frames = frames some stream of the batch received live but this one, subscribed before it, did not.
 * Loss (the verdict): a stream that does not receive its execution's terminal frame (`result_stored`, or
 * another terminal event), including streams refused at open. Streams cut by the end of the run in batches whose
 * execution had not finished for anyone are reported as `cut_at_end`, not as loss.
 */
import { liftRateLimits, login, passwordFor, register, throttleNote } from '../accounts.js';
import type { HttpClient } from '../http-client.js';
import { API, type RunContext, type Scenario, type ScenarioResult } from './types.js';

const TERMINAL_EVENTS = new Set(['result_stored', 'result_failed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);
const TERMINAL_STATUSES = new Set(['completed', 'failed', 'timeout', 'cancelled', 'error']);
const MAX_BATCHES_IN_FLIGHT = 16;
const MAX_BATCH_RECORDS = 50;

interface StreamState {
  openOk: boolean;
  status: number | null;
  /** Server time of the stream's first (`status`) frame: when the server opened it. */
  openedAtServer: number | null;
  late: boolean;
  gotTerminal: boolean;
  /** event id → receipt time (epoch ms), live frames only. */
  live: Map<string, number>;
  replayed: number;
  end: string;
}

interface BatchRecord {
  batch: number;
  execution_id: string;
  streams: number;
  received_terminal: number;
  lost: number;
  open_failures: number;
  late_opens: number;
  frames: number;
  missed_frames: number;
}

export function sseSoakScenario(): Scenario {
  let client: HttpClient;
  let pythonVersion = '3.11';
  return {
    async setup(ctx) {
      client = ctx.newClient();
      const limits = await client.request({ method: 'GET', path: `${API}/k8s-limits`, unrecorded: true });
      const versions = limits.json<{ supported_runtimes?: Record<string, { versions?: string[] }> }>()?.supported_runtimes?.['python']?.versions;
      if (!versions?.[0]) throw new Error('the target offers no python runtime (GET /k8s-limits)');
      pythonVersion = versions[0];
      const username = `lt_${ctx.runId}_soak`;
      const password = passwordFor(username);
      const step = { unrecorded: true, sleep: ctx.sleep, onThrottle: throttleNote(ctx) };
      await register(client, username, password, step);
      const account = await login(client, username, password, step);
      if (ctx.admin && !ctx.options.keepRateLimits) await liftRateLimits(ctx.admin, account.userId, step);
      else ctx.log('warning: the soak user keeps its rate limits (SSE 5/min, execute 10/min by default): refused streams count as loss. Pass an admin --username/--password.');
    },

    async run(ctx): Promise<ScenarioResult> {
      const o = ctx.options;
      const totals = {
        batches_started: 0,
        batches_submit_failed: 0,
        batches_skipped: 0,
        batches_finished: 0,
        batches_unfinished: 0,
        streams_opened: 0,
        streams_received_terminal: 0,
        lost: 0,
        open_failures: 0,
        open_failure_statuses: {} as Record<string, number>,
        late_opens: 0,
        cut_at_end: 0,
        frames_live: 0,
        frames_replayed: 0,
        missed_frames: 0,
      };
      const records: BatchRecord[] = [];
      const inFlight = new Set<Promise<void>>();
      const script = `import time\ntime.sleep(${o.execSleep})\nprint("soak")`;

      const batch = async (k: number) => {
        totals.batches_started += 1;
        let id: string | undefined;
        try {
          const res = await client.request({ method: 'POST', path: `${API}/execute`, json: { script, lang: 'python', lang_version: pythonVersion }, expect: (s) => s === 200 });
          id = res.json<{ execution_id?: string }>()?.execution_id;
        } catch {
          id = undefined;
        }
        if (!id) {
          totals.batches_submit_failed += 1;
          return;
        }
        const states = await Promise.all(Array.from({ length: o.clients }, () => openStream(ctx, client, id)));
        const record = account(states, k, id);
        if (records.length < MAX_BATCH_RECORDS) records.push(record);
        ctx.setProgress('lost', totals.lost + totals.open_failures);
      };

      const account = (states: StreamState[], k: number, id: string): BatchRecord => {
        const anyTerminal = states.some((s) => s.gotTerminal);
        if (anyTerminal) totals.batches_finished += 1;
        else totals.batches_unfinished += 1;
        // Union of live frames: event id → [server timestamp unknown here, receipts]
        const receipts = new Map<string, number[]>();
        for (const s of states) for (const [eid, at] of s.live) (receipts.get(eid) ?? receipts.set(eid, []).get(eid)!).push(at);
        for (const list of receipts.values()) if (list.length > 1) ctx.recorder.recordMetric('sse_fanout_spread', Math.max(...list) - Math.min(...list));
        const rec: BatchRecord = { batch: k, execution_id: id, streams: states.length, received_terminal: 0, lost: 0, open_failures: 0, late_opens: 0, frames: receipts.size, missed_frames: 0 };
        for (const s of states) {
          if (!s.openOk) {
            rec.open_failures += 1;
            const key = s.status === null ? s.end : String(s.status);
            totals.open_failure_statuses[key] = (totals.open_failure_statuses[key] ?? 0) + 1;
            continue;
          }
          totals.streams_opened += 1;
          totals.frames_live += s.live.size;
          totals.frames_replayed += s.replayed;
          if (s.late) rec.late_opens += 1;
          if (s.gotTerminal) rec.received_terminal += 1;
          else if (s.end === 'cancelled' && !anyTerminal) totals.cut_at_end += 1;
          else rec.lost += 1;
          // Frames others received live that this stream, opened earlier, should have received too.
          if (!s.late && s.openedAtServer !== null) {
            for (const [eid] of receipts) if (!s.live.has(eid) && (frameTimes.get(eid) ?? 0) > s.openedAtServer) rec.missed_frames += 1;
          }
        }
        totals.streams_received_terminal += rec.received_terminal;
        totals.lost += rec.lost;
        totals.open_failures += rec.open_failures;
        totals.late_opens += rec.late_opens;
        totals.missed_frames += rec.missed_frames;
        return rec;
      };

      // Server timestamps of frames by event id (shared by the streams of all batches; ids are unique).
      const frameTimes = new Map<string, number>();
      const openStream = async (c: RunContext, http: HttpClient, id: string): Promise<StreamState> => {
        const st: StreamState = { openOk: false, status: null, openedAtServer: null, late: false, gotTerminal: false, live: new Map(), replayed: 0, end: 'server' };
        const result = await http.stream(
          {
            method: 'GET',
            path: `${API}/events/executions/${encodeURIComponent(id)}`,
            timeoutMs: (o.duration + o.drain + 30) * 1000,
            expect: (s) => s === 200,
          },
          {
            idleTimeoutMs: 60_000,
            onOpen: () => {
              st.openOk = true;
            },
            onEvent: (ev) => {
              let frame: Record<string, unknown>;
              try {
                frame = JSON.parse(ev.data) as Record<string, unknown>;
              } catch {
                return;
              }
              const type = String(frame['event_type'] ?? '');
              const ts = Date.parse(String(frame['timestamp'] ?? ''));
              if (type === 'status' && st.openedAtServer === null) {
                st.openedAtServer = Number.isNaN(ts) ? null : ts;
                if (TERMINAL_STATUSES.has(String(frame['status']))) st.late = true;
                return;
              }
              if (TERMINAL_EVENTS.has(type)) st.gotTerminal = true;
              const eid = String(frame['event_id'] || `${type}@${frame['timestamp']}`);
              if (Number.isNaN(ts) || st.openedAtServer === null || ts < st.openedAtServer) {
                st.replayed += 1;
                return;
              }
              st.live.set(eid, ev.receivedAt);
              if (!frameTimes.has(eid)) frameTimes.set(eid, ts);
              c.recorder.recordMetric('sse_delivery', ev.receivedAt - ts);
            },
          },
        );
        st.status = result.status;
        st.end = result.end;
        if (result.status !== 200 || !result.streamed) st.openOk = false;
        return st;
      };

      const interval = 1000 / o.rate;
      let next = ctx.now();
      let k = 0;
      while (!ctx.stop.aborted) {
        if (inFlight.size < MAX_BATCHES_IN_FLIGHT) {
          const p: Promise<void> = batch(k++).finally(() => inFlight.delete(p));
          inFlight.add(p);
        } else {
          totals.batches_skipped += 1;
        }
        ctx.setProgress('batches', totals.batches_started);
        ctx.setProgress('streams', ctx.transport.openStreams);
        next += interval;
        if (!(await ctx.sleep(next - ctx.now()))) break;
      }
      // Drain: batches in flight finish, or are cut when the drain time is over (ctx.hard).
      const progressTimer = setInterval(() => ctx.setProgress('streams', ctx.transport.openStreams), 250);
      try {
        await Promise.all([...inFlight]);
      } finally {
        clearInterval(progressTimer);
      }
      frameTimes.clear();

      const loss = totals.lost + totals.open_failures;
      const reasons: string[] = [];
      if (loss > 0) reasons.push(`${loss} stream(s) did not receive their execution's terminal frame (${totals.lost} lost after opening, ${totals.open_failures} refused at open)`);
      if (totals.batches_started > 0 && totals.batches_submit_failed === totals.batches_started) reasons.push('no execution could be submitted');
      const delivered = ctx.recorder.metric('sse_delivery')?.count ?? 0;
      const elapsedS = Math.max(0.001, (ctx.now() - ctx.startedAt) / 1000);
      return {
        summary: {
          design: 'N streams per execution; loss = a stream missing the terminal frame',
          streams_per_batch: o.clients,
          rate_per_s: o.rate,
          ...totals,
          frames_delivered_per_s: Math.round((delivered / elapsedS) * 10) / 10,
          notes:
            totals.late_opens > 0
              ? [`${totals.late_opens} stream(s) opened after their execution had ended (raise --exec-sleep); they still must get the terminal frame (replayed)`]
              : [],
          batches: records,
        },
        failures: reasons.length > 0 ? Math.max(1, loss) : 0,
        reasons,
      };
    },
  };
}
