/**
 * A child process for the SIGKILL tests (not a test itself): `append DIR` appends forever and prints
 * "acked N" after each append resolved; `consume DIR KILL_AT` consumes topic "crash" in group "g", prints
 * "handled V" from inside the handler, and kills itself with SIGKILL when it reaches the value KILL_AT.
 */
import { createSqliteEventLog } from './event-log.js';
import { openDataDir } from './sqlite.js';

const [mode, dataDir, killAt] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: event-log.crash-child.ts append|consume DATA_DIR [KILL_AT]');
const log = createSqliteEventLog(openDataDir(dataDir), { partitions: 4 });

if (mode === 'append') {
  for (let i = 0; ; i++) {
    await log.append('crash', `k${i % 8}`, `v${i}`);
    // Writes to a pipe are synchronous on Linux: once the parent reads this line, the append was durable.
    process.stdout.write(`acked ${i}\n`);
  }
} else if (mode === 'consume') {
  await log.consume({ group: 'g', topics: ['crash'] }, async (record) => {
    if (record.value === killAt) process.kill(process.pid, 'SIGKILL');
    process.stdout.write(`handled ${record.value}\n`);
  });
  process.stdout.write('ready\n');
} else {
  throw new Error(`unknown mode '${mode}'`);
}
