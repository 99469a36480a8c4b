import { Socket } from 'node:net';
import { produceRaw } from '@platform/testing';
import { type BrokerAdmin } from '../src';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

const PARTITIONS = 6;

/** Sockets of this process to the test broker, open now. */
function brokerSockets(brokers: readonly string[]): number {
  const ports = new Set(brokers.map((b) => Number(b.split(':').pop())));
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof Socket && ports.has((h as { remotePort?: number }).remotePort ?? -1) && !(h as { destroyed: boolean }).destroyed).length;
}

/**
 * Reading without a consumer group (dead letters, the console's trail, lag timestamps), many
 * partitions at once, on the real broker: every message comes back, and once the admin is
 * disconnected no socket of it stays open (one did per partition read in parallel: kafkajs
 * opened the broker's fetch connection once per concurrent first fetch and closed only one).
 */
describe('group-less reads: partitions read at once (real Kafka)', () => {
  let h: MessagingHarness;
  let topic: string;

  beforeAll(async () => {
    h = await messagingHarness('groupless');
    topic = `${h.naming.namespace}.groupless.reads`;
    const admin = await h.broker.admin();
    await admin.createTopics([{ topic, partitions: PARTITIONS, config: {} }]);
    await admin.disconnect();
    await produceRaw(
      h.brokers,
      topic,
      Array.from({ length: PARTITIONS * 3 }, (_, i) => ({ key: `k${i}`, value: `m${i}`, headers: {}, partition: i % PARTITIONS })),
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  it('reads every partition in parallel and leaves no socket open after disconnect', async () => {
    const before = brokerSockets(h.brokers);
    const admin: BrokerAdmin = await h.broker.admin();
    const ranges = await admin.logRanges(topic);
    const read = await Promise.all(ranges.map((r) => admin.readMessages({ topic, partition: r.partition, from: r.start, to: r.end })));
    const timestamps = await Promise.all(ranges.map((r) => admin.messageTimestamps([{ topic, partition: r.partition, offset: r.start }])));
    expect(read.flat().map((m) => m.value?.toString()).sort()).toEqual(Array.from({ length: PARTITIONS * 3 }, (_, i) => `m${i}`).sort());
    expect(timestamps.flat()).toHaveLength(PARTITIONS);
    await admin.disconnect();
    // A closed socket leaves the handle list once the close has gone through.
    const deadline = Date.now() + 5000;
    while (brokerSockets(h.brokers) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(brokerSockets(h.brokers)).toBe(before);
  });
});
