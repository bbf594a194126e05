/**
 * The EventLog contract against a real Kafka broker (KAFKA_BROKERS, else testcontainers, else deploy/local/up kafka).
 * Every fixture is its own client; the topics and groups a test used are deleted afterwards, so a long-lived local
 * broker does not pile them up (the shared dead-letter topic stays).
 */
import { eventLogContract } from '../../test/contracts/event-log.contract.js';
import { DEAD_LETTER_TOPIC, type EventLog } from '../../system/ports/event-log.js';
import { KafkaTestLogs } from './event-log.fixture.js';

eventLogContract('Kafka', async () => {
  const logs = await KafkaTestLogs.create();
  const open = (): EventLog => {
    const log = logs.open();
    // The log as it is, noting the topics and groups the test used.
    return {
      partitions: log.partitions,
      append: (topic, key, value, headers) => {
        if (topic !== DEAD_LETTER_TOPIC) logs.topics.add(topic);
        return log.append(topic, key, value, headers);
      },
      appendMany: (records) => {
        for (const { topic } of records) if (topic !== DEAD_LETTER_TOPIC) logs.topics.add(topic);
        return log.appendMany(records);
      },
      consume: (options, handler) => {
        for (const topic of options.topics) if (topic !== DEAD_LETTER_TOPIC) logs.topics.add(topic);
        logs.groups.add(options.group);
        return log.consume(options, handler);
      },
      lag: () => log.lag(),
      ping: () => log.ping(),
      close: () => log.close(),
    };
  };
  return {
    log: open(),
    reopen: async () => open(),
    cleanup: () => logs.cleanup(),
  };
});
