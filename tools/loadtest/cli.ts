/**
 * npm run loadtest -- <user|monkey|sse-soak> [options]   (see --help and tools/loadtest/README.md)
 * Exit codes: 0 done, 1 the run found failures (monkey 5xx/resets/hangs, SSE loss), 2 bad options,
 * 3 the run could not start (target unreachable, admin login refused…).
 */
import { OptionsError, USAGE, parseOptions, wantsHelp } from './options.js';
import { formatSummary } from './report/text.js';
import { SetupError, runLoadTest } from './runner.js';

async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (err instanceof OptionsError) {
      process.stderr.write(`loadtest: ${err.message}\nRun with --help for the options.\n`);
      return 2;
    }
    throw err;
  }
  const interrupted = new AbortController();
  const onSignal = () => {
    if (interrupted.signal.aborted) process.exit(130);
    interrupted.abort();
    process.stderr.write('\nloadtest: interrupted, writing the report (Ctrl-C again quits without one)\n');
  };
  process.on('SIGINT', onSignal);
  try {
    const outcome = await runLoadTest(options, { signal: interrupted.signal });
    process.stdout.write(`${formatSummary(outcome.report, outcome.files)}\n`);
    return outcome.exitCode;
  } catch (err) {
    if (err instanceof SetupError) {
      process.stderr.write(`loadtest: ${err.message}\n`);
      return 3;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`loadtest: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 3;
  },
);
