import { createTempDir } from '../../test/support/temp-dir.js';
import { eventLogContract } from '../../test/contracts/event-log.contract.js';
import type { EventLog } from '../ports/event-log.js';
import { createSqliteEventLog } from './event-log.js';
import { openDataDir } from './sqlite.js';

eventLogContract('embedded SQLite', async () => {
  const dir = await createTempDir();
  const opened: EventLog[] = [];
  const open = (): EventLog => {
    const log = createSqliteEventLog(openDataDir(dir.path), { partitions: 4 });
    opened.push(log);
    return log;
  };
  return {
    log: open(),
    reopen: async () => open(),
    async cleanup() {
      await Promise.all(opened.map((log) => log.close()));
      await dir.cleanup();
    },
  };
});
