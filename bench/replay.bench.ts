/**
 * npm run bench:replay — a replay session sending 100 000 stored events to the event log (target `kafka`) at speed
 * multiplier 100, in events/s (target ≥ 20 000/s).
 *
 * The store (SQLite, embedded) is filled with the events of 12 500 completed runs, 8 events each, stamped as a burst
 * of executions would be: each event 0–2 ms after the previous one (1 ms on average), so the 100 000 span about
 * 100 s and speed 100 spaces them by about 10 µs: the pacing alone allows ~100 000 events/s (printed as the floor).
 * Events with realistic gaps (seconds between a run's steps) at speed 100 would take hours by design.
 *
 * The log is the embedded one in the same data dir by default, or real Kafka when KAFKA_BROKERS is set (a fresh
 * topic namespace per run). After the run every replayed record is read back from the log and counted.
 * Environment: BENCH_EVENTS (100000), BENCH_BATCH (1000, the session's batch_size), BENCH_SPEED (100), BENCH_PROFILE
 * (a file: a V8 CPU profile of the replay phase alone is written there, for `.cpuprofile` viewers), BENCH_TARGET
 * (`kafka`, the default: the event log; `test`: sent nowhere, which measures reading and marking alone).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createKafkaEventLog } from '../bridges/kafka/event-log.js';
import { REPLAY_HEADER, ReplayConfigSchema } from '../system/domain/replay.js';
import { createSqliteDocumentStore } from '../system/embedded/document-store.js';
import { createSqliteEventLog } from '../system/embedded/event-log.js';
import { createInProcessBus } from '../system/embedded/fanout-bus.js';
import { openDataDir } from '../system/embedded/sqlite.js';
import { TOPICS } from '../system/events/topics.js';
import type { EventLog } from '../system/ports/event-log.js';
import { completedRunEvents, replaySessions, startReplayNode } from '../system/services/replay/replay.fixture.js';
import { EventStore } from '../system/stores/event-store.js';
import { createTempDir } from '../test/support/temp-dir.js';
import { waitFor } from '../test/support/wait.js';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 100_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1000);
const SPEED = Number(process.env['BENCH_SPEED'] ?? 100);
const PROFILE = process.env['BENCH_PROFILE'];
const TARGET = process.env['BENCH_TARGET'] === 'test' ? 'test' : 'kafka';
const PARTITIONS = 16;

async function main(): Promise<void> {
  const dir = await createTempDir('integr8s-bench-replay-');
  const db = openDataDir(dir.path);
  const store = createSqliteDocumentStore(db);
  const brokers = process.env['KAFKA_BROKERS'];
  const eventLog: EventLog = brokers
    ? createKafkaEventLog({ brokers: brokers.split(','), partitions: PARTITIONS, namespace: `bench-replay-${Date.now()}` })
    : createSqliteEventLog(db, { partitions: PARTITIONS });
  const bus = createInProcessBus();
  const node = await startReplayNode({ store, eventLog, bus, replayDir: join(dir.path, 'replays') }, 'bench');
  const sink = TARGET === 'test' ? 'nowhere (target test)' : brokers ? `Kafka (${brokers})` : 'embedded log (SQLite)';
  console.log(`bench:replay  ${EVENTS} events → ${sink}  batch ${BATCH}  speed ${SPEED}  (${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)})`);

  try {
    // Fill the store: runs interleaved in time, as a burst of executions would be.
    const fillStart = Date.now();
    const events = new EventStore(store);
    let t = Date.now() - 3 * 3600_000;
    const gap = () => Math.floor(Math.random() * 3); // 0, 1 or 2 ms
    let stored = 0;
    for (let run = 0; stored < EVENTS; run++) {
      const run8 = completedRunEvents(`bench-${run}`, `user-${run % 50}`, t, gap);
      t = Date.parse(run8.at(-1)!.timestamp) + gap();
      for (const e of run8.slice(0, EVENTS - stored)) await events.append(e);
      stored += Math.min(8, EVENTS - stored);
    }
    const first = (await events.find({}, { sort: { id: 1 }, limit: 1 }))[0]!;
    const last = (await events.find({}, { sort: { id: -1 }, limit: 1 }))[0]!;
    const spanMs = Date.parse(last.timestamp) - Date.parse(first.timestamp);
    console.log(`  store filled: ${stored} events in ${((Date.now() - fillStart) / 1000).toFixed(1)} s; their times span ${(spanMs / 1000).toFixed(1)} s`);
    console.log(`  pacing floor at speed ${SPEED}: ${(spanMs / SPEED / 1000).toFixed(2)} s (≤ ${Math.round(EVENTS / (spanMs / SPEED / 1000))} events/s)`);

    const service = node.replay.service;
    const config = ReplayConfigSchema.parse({ replay_type: 'time_range', target: TARGET, filter: { start_time: first.timestamp }, speed_multiplier: SPEED, batch_size: BATCH, preserve_timestamps: true });
    const { session_id } = await service.create(config, 'bench');
    const profiler = PROFILE ? await startProfile() : null;
    const started = Date.now();
    const cpuBefore = process.cpuUsage();
    await service.start(session_id);
    const done = await waitFor(async () => {
      const s = await replaySessions(store).get(session_id);
      return s && s.status !== 'running' ? s : null;
    }, { timeoutMs: 600_000, intervalMs: 20, message: 'the session to finish' });
    const cpu = process.cpuUsage(cpuBefore);
    if (profiler && PROFILE) await writeFile(PROFILE, JSON.stringify(await profiler.stop()));
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const seconds = (Date.parse(done.completed_at!) - Date.parse(done.started_at!)) / 1000;
    const wall = (Date.now() - started) / 1000;
    console.log(`  session ${done.status}: ${done.replayed_events} replayed, ${done.failed_events} failed in ${seconds.toFixed(2)} s (wall ${wall.toFixed(2)} s)`);
    console.log(`  → ${Math.round(done.replayed_events / seconds)} events/s  (target ≥ 20000)`);
    // Other work on the machine slows the wall-clock figure; the process's own CPU time is far less disturbed.
    console.log(`  this process used ${cpuSeconds.toFixed(2)} s of CPU for it: ${Math.round(done.replayed_events / cpuSeconds)} events per CPU-second${brokers ? ' (the broker\'s own CPU not included)' : ''}`);

    if (TARGET === 'test') {
      if (done.status !== 'completed' || done.replayed_events !== EVENTS) process.exitCode = 1;
      return;
    }
    // Read back: every replayed record is in the log exactly once.
    const ids = new Set<string>();
    let records = 0;
    const readStart = Date.now();
    const consumer = await eventLog.consume({ group: `bench-check-${session_id}`, topics: [TOPICS.executionCommands, TOPICS.executionEvents] }, async (r) => {
      if (r.headers[REPLAY_HEADER] !== session_id) return;
      records++;
      ids.add(JSON.parse(r.value).event_id as string);
    });
    await waitFor(() => records >= done.replayed_events, { timeoutMs: 600_000, intervalMs: 50, message: 'every replayed record read back' });
    await consumer.stop();
    console.log(`  read back ${records} records (${ids.size} distinct event ids) in ${((Date.now() - readStart) / 1000).toFixed(1)} s`);
    if (done.status !== 'completed' || ids.size !== EVENTS || records !== EVENTS) process.exitCode = 1;
  } finally {
    await node.stop();
    await eventLog.close();
    await bus.close();
    await store.close();
    await dir.cleanup();
  }
}

/** Starts V8's CPU profiler on this process; stop() answers the profile. */
async function startProfile(): Promise<{ stop(): Promise<object> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

await main();
