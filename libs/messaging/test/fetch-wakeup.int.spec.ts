import { eventually, produceRaw, sleep } from '@platform/testing';
import { createBroker, type GroupConsumer } from '../src';
import { messagingHarness, testKafkaClient, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

/** Long enough that waiting for it once is unmistakable. */
const LONG_POLL_MS = 15_000;

/**
 * A partition whose batch is handed back is fetched again at once, not after a long-poll that
 * went out for the other partitions while its batch was being handled: such a poll waits for data
 * on partitions that have none, and a Fetch in flight to a leader holds the next one. (The
 * platformatic adapter did: its pipeline ran at about half the kafkajs adapter's rate.)
 */
describe('group consumer: a partition handed back is fetched without waiting out a long-poll (real Kafka)', () => {
  let h: MessagingHarness;
  let consumer: GroupConsumer | undefined;

  beforeAll(async () => {
    h = await messagingHarness('fetchwakeup');
  });

  afterAll(async () => {
    await consumer?.stop();
    await h?.close();
  });

  it('delivers the next message of a partition while another partition has nothing', async () => {
    const topic = `${h.naming.namespace}.fetch.wakeup`;
    const admin = await h.broker.admin();
    await admin.createTopics([{ topic, partitions: 2, config: {} }]);
    await admin.disconnect();
    const broker = createBroker(testKafkaClient(), { brokers: h.brokers, clientId: 'fetch-wakeup', logger: h.logger, maxWaitTimeInMs: LONG_POLL_MS });
    consumer = await broker.consumer({ groupId: `${topic}.group` });
    await consumer.subscribe([topic], { fromBeginning: true });
    const seen: string[] = [];
    let handedBack = 0;
    await consumer.run({
      partitionsConcurrently: 2,
      onBatch: async (batch) => {
        seen.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
        // Held a while: long enough for a fetch of the idle partition to go out meanwhile.
        if (seen.length === 1) await sleep(1000);
        handedBack++;
        return batch.messages[batch.messages.length - 1].offset;
      },
    });
    await produceRaw(h.brokers, topic, [{ key: 'a', value: 'first', headers: {}, partition: 0 }]);
    await eventually(() => expect(handedBack).toBe(1), { timeoutMs: 30_000 });
    await produceRaw(h.brokers, topic, [{ key: 'a', value: 'second', headers: {}, partition: 0 }]);
    // Well under the long-poll: a fetch waiting it out would deliver 'second' only after it.
    await eventually(() => expect(seen).toEqual(['first', 'second']), { timeoutMs: LONG_POLL_MS / 3 });
  });

  it('keeps a partition handed back at once in the long-poll that follows its batch', async () => {
    // The platformatic adapter chose the partitions to fetch before it asked for the metadata and
    // judged whether any was busy after: a batch handed back in between left its partition out of
    // a long-poll sent as if none were busy (pipeline: ack to handler p99 14-30 ms, some 250 ms).
    const topic = `${h.naming.namespace}.fetch.handed-back`;
    const admin = await h.broker.admin();
    await admin.createTopics([{ topic, partitions: 2, config: {} }]);
    await admin.disconnect();
    const broker = createBroker(testKafkaClient(), { brokers: h.brokers, clientId: 'fetch-handed-back', logger: h.logger, maxWaitTimeInMs: LONG_POLL_MS });
    const quick = await broker.consumer({ groupId: `${topic}.group` });
    try {
      await quick.subscribe([topic], { fromBeginning: true });
      const seen: string[] = [];
      await quick.run({
        partitionsConcurrently: 2,
        onBatch: async (batch) => {
          seen.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
          return batch.messages[batch.messages.length - 1].offset;
        },
      });
      for (const value of ['one', 'two', 'three']) {
        await produceRaw(h.brokers, topic, [{ key: 'a', value, headers: {}, partition: 0 }]);
        // Well under the long-poll, every time: a poll that left partition 0 out would hold it that long.
        await eventually(() => expect(seen[seen.length - 1]).toBe(value), { timeoutMs: LONG_POLL_MS / 3 });
        await sleep(500);
      }
    } finally {
      await quick.stop();
    }
  });
});
