/**
 * bench:http's server with telemetry on, in a process of its own: tracing at the default sampling ratio (server
 * spans, store spans under sampled requests) exporting over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (the bench's sink).
 * A process of its own because AsyncLocalStorage, once entered, slows every promise of the whole process: in the
 * bench's process it would slow the servers it is compared with too. Prints one JSON line (port, credentials)
 * when ready; stops on SIGTERM or when the bench goes away (its standard input closes).
 */
import { loadConfig } from '../system/config.js';
import { startTracing } from '../system/telemetry/tracing.js';
import { openStack } from './http-bench-stack.js';

const config = loadConfig({ DATA_DIR: '/tmp', ...process.env });
const tracing = startTracing({
  nodeId: 'bench-telemetry',
  mode: 'embedded',
  sampling: { enabled: true, ratio: config.tracing?.samplingRatio ?? 0.1 },
  otlpEndpoint: config.otlpEndpoint,
});
const { s, credentials } = await openStack(tracing.sampler);
console.log(JSON.stringify({ port: s.port, credentials, ratio: tracing.sampler.settings.ratio }));
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await s.close();
    await tracing.shutdown();
    process.exit(0);
  })();
};
process.once('SIGTERM', stop);
process.stdin.resume();
process.stdin.once('end', stop);
