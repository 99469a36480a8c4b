import { Kafka, logLevel } from 'kafkajs';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

const PARTITIONS = 6;
const ROUNDS = 10;

/**
 * A topic the adapter created is written to at once (ensureTopics, then the relay): every
 * partition's leader must take writes when createTopics resolves. A producer that is told
 * NOT_LEADER_OR_FOLLOWER for one partition and may not retry fails here; one that retries
 * without idempotence writes the other partitions twice (seen with a leader in the metadata
 * but not yet leading, a few milliseconds after the topic was created).
 */
describe('topic creation: a created topic takes writes on every partition (real Kafka)', () => {
  let h: MessagingHarness;

  beforeAll(async () => {
    h = await messagingHarness('topiccreation');
  });

  afterAll(async () => {
    await h?.close();
  });

  it(`accepts a write to each of ${PARTITIONS} partitions right after createTopics, ${ROUNDS} topics in a row`, async () => {
    const admin = await h.broker.admin();
    const producer = new Kafka({ clientId: 'topic-creation', brokers: h.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const topic = `${h.naming.namespace}.created.${round}`;
        await admin.createTopics([{ topic, partitions: PARTITIONS, config: {} }]);
        await producer.send({ topic, acks: -1, messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ key: `k${partition}`, value: 'v', partition })) });
        expect((await admin.endOffsets(topic)).map((e) => e.offset)).toEqual(Array.from({ length: PARTITIONS }, () => '1'));
      }
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
