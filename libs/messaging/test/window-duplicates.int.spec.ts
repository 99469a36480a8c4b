import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw } from '@platform/testing';
import { Kafka, logLevel } from 'kafkajs';
import { ServiceMessaging, type EnvelopeOf, type EventWindow, type HandlerContext, type WindowedUseCase } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

class Digest implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'digest';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'processing' } as const;

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    // No unique key: a window or an event handled twice shows as a second row.
    for (const event of window.events) await tx.query('INSERT INTO digested (owner_id, event_id) VALUES ($1, $2)', [window.key, event.id]);
  }
}

/**
 * The outbox relay sends an event again when it cannot know the first send arrived: two copies
 * of one event id, next to each other in one partition (the chaos run found them at the
 * committed offset of every partition endpoint-digest stalled on).
 */
describe('a windowed use case and an event sent twice (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let kafka: Kafka;

  beforeAll(async () => {
    h = await messagingHarness('window_duplicates');
    kafka = new Kafka({ brokers: h.brokers, clientId: 'window-duplicates-test', logLevel: logLevel.NOTHING });
    await h.db.pool.query('CREATE TABLE digested (owner_id text NOT NULL, event_id uuid NOT NULL)');
  });

  afterAll(async () => {
    await h?.close();
  });

  const start = async () => {
    const messaging = new ServiceMessaging({ service: 'dups', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [], useCases: [new Digest()], logger: h.logger });
    await messaging.start();
    return messaging;
  };

  /** The group's lag on the topic: high watermarks minus committed offsets. */
  const lag = async (group: string) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = h.naming.topic(EndpointUpdated);
      const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
      return ends.reduce((sum, end) => {
        const offset = Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        return sum + Number(end.high) - (offset < 0 ? Number(end.low) : offset);
      }, 0);
    } finally {
      await admin.disconnect();
    }
  };

  it('digests the event once and commits past both copies, first time and when read again from the start', async () => {
    const owner = randomUUID();
    const payload = { apiId: randomUUID(), ownerId: owner, endpointId: randomUUID(), method: 'PUT', path: '/d', upstreamUrl: 'http://up.internal', change: 'updated', version: 1 } satisfies EndpointUpdated;
    const twice = cloudEventMessage(EndpointUpdated, payload);
    const after = cloudEventMessage(EndpointUpdated, { ...payload, endpointId: randomUUID(), version: 2 });
    let messaging = await start();
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), [twice, twice, after]);
    const group = messaging.consumers[0].groupId;
    const digested = async () => (await h.db.pool.query<{ event_id: string }>('SELECT event_id FROM digested WHERE owner_id = $1 ORDER BY event_id', [owner])).rows.map((r) => r.event_id);
    const expected = [twice.headers.ce_id, after.headers.ce_id].sort();
    await eventually(async () => expect(await digested()).toEqual(expected), { timeoutMs: 20_000 });
    await eventually(async () => expect(await lag(group)).toBe(0), { timeoutMs: 20_000 });
    await messaging.stop();

    // Read again from the start (a group reset, or a restart behind the committed offset): the
    // copies are redelivered together and find their window handled.
    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: group, topic: h.naming.topic(EndpointUpdated), earliest: true });
    await admin.disconnect();
    expect(await lag(group)).toBe(3);
    messaging = await start();
    try {
      await eventually(async () => expect(await lag(group)).toBe(0), { timeoutMs: 30_000 });
      expect(await digested()).toEqual(expected);
    } finally {
      await messaging.stop();
    }
  });
});
