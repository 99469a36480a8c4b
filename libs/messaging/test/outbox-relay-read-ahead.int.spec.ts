import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, inOwnTransaction, sleep, TopicReader } from '@platform/testing';
import { ensureTopics, OutboxPublisher, OutboxRelay, topicSpecFor, type MessageProducer } from '../src';
import { DELETE_AND_READ_SQL } from '../src/outbox/relay-statements';
import { endpointUpdated, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const TOPIC_LIMIT = 64 * 1024;
const SEND_DELAY_MS = 80;

interface Interval {
  readonly startedAt: number;
  endedAt?: number;
}

interface SendRecord extends Interval {
  readonly keys: readonly string[];
  readonly versions: readonly number[];
  failed?: boolean;
}

/** A real producer whose sends take `SEND_DELAY_MS` longer, each recorded with its messages. */
function slowRecordedProducer(producer: MessageProducer, sends: SendRecord[]): MessageProducer {
  return {
    async send(messages) {
      const record: SendRecord = {
        startedAt: performance.now(),
        keys: messages.map((m) => m.key),
        versions: messages.map((m) => (JSON.parse(String(m.value)) as { version: number }).version),
      };
      sends.push(record);
      try {
        await sleep(SEND_DELAY_MS);
        await producer.send(messages);
      } catch (error) {
        record.failed = true;
        throw error;
      } finally {
        record.endedAt = performance.now();
      }
    },
    disconnect: () => producer.disconnect(),
  };
}

/** The pool with each delete-and-read statement's interval recorded. */
function recordingDeleteAndReads(pool: Pool, reads: Interval[]): Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return async (...args: unknown[]) => {
          if (args[0] !== DELETE_AND_READ_SQL) return (target.query as (...a: unknown[]) => unknown)(...args);
          const read: Interval = { startedAt: performance.now() };
          reads.push(read);
          try {
            return await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          } finally {
            read.endedAt = performance.now();
          }
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Whether the two intervals had a moment in common. */
const overlap = (a: Interval, b: Interval) => a.startedAt < (b.endedAt ?? Infinity) && b.startedAt < (a.endedAt ?? Infinity);

/** Versions per key in the order Kafka holds them, each event where it first appears. */
function versionsOf(reader: TopicReader, key: string): number[] {
  const firstSeen = [...new Map(reader.messages.filter((m) => m.key === key).map((m) => [m.headers['ce_id'], m] as const)).values()];
  return firstSeen.map((m) => (JSON.parse(m.value ?? '{}') as { version: number }).version);
}

/**
 * A busy relay reads the next batch while the last one is in flight (real PostgreSQL and Kafka;
 * the producer is a real one made slower, so that rows pile up behind each send).
 */
describe('outbox relay reading ahead', () => {
  let h: MessagingHarness;
  let reader: TopicReader;
  const relays: OutboxRelay[] = [];
  const publisher = new OutboxPublisher('outbox-read-ahead', [EndpointUpdated]);

  beforeAll(async () => {
    h = await messagingHarness('outbox_read_ahead');
    const admin = await h.broker.admin();
    // A topic that takes records of up to 64 KiB, so one row can be made too large for it.
    const spec = topicSpecFor(EndpointUpdated, h.naming);
    await admin.createTopics([{ ...spec, config: { ...spec.config, 'max.message.bytes': String(TOPIC_LIMIT) } }]);
    await ensureTopics(admin, h.naming, [EndpointUpdated]);
    await admin.disconnect();
    reader = await new TopicReader(h.brokers, [h.naming.topic(EndpointUpdated)]).start();
  });

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    await reader?.stop();
    await h?.close();
  });

  const startRelay = (sends: SendRecord[], pool: Pool = h.db.pool as Pool) => {
    const relay = new OutboxRelay({
      pool,
      naming: h.naming,
      logger: h.logger,
      producerFactory: async () => slowRecordedProducer(await h.broker.producer({ idempotent: true }), sends),
      batchSize: 20,
      maxAttempts: 2,
      maxBackoffMs: 300,
    });
    relays.push(relay);
    relay.start();
    return relay;
  };

  /** Writers publishing versions 1..`versions` of each key, one event a transaction, keys in turn. */
  const writeRounds = async (keys: readonly string[], versions: number, tooLarge?: { key: string; version: number }) => {
    for (let version = 1; version <= versions; version++) {
      await Promise.all(
        keys.map((key) =>
          inOwnTransaction(h.db.pool, async (tx) => {
            const envelope = await publisher.publish(tx, EndpointUpdated, endpointUpdated(key, version));
            if (tooLarge?.key === key && tooLarge.version === version) {
              await tx.query(`UPDATE messaging.outbox SET payload = payload || repeat(' ', $2) WHERE event_id = $1`, [envelope.id, TOPIC_LIMIT * 2]);
            }
          }),
        ),
      );
      await sleep(10);
    }
  };

  it('deletes the last batch and reads the next one while a batch is in flight; every row reaches Kafka once, in order per key', async () => {
    const sends: SendRecord[] = [];
    const reads: Interval[] = [];
    const relay = startRelay(sends, recordingDeleteAndReads(h.db.pool as Pool, reads));
    const keys = Array.from({ length: 4 }, () => randomUUID());
    await writeRounds(keys, 25);

    await eventually(async () => expect(await relay.backlog()).toBe(0), { timeoutMs: 30_000 });
    await eventually(() => expect(keys.flatMap((key) => versionsOf(reader, key)).length).toBe(100), { timeoutMs: 30_000 });
    for (const key of keys) expect(versionsOf(reader, key)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(relay.stats().sent).toBe(100);

    await relay.stop();
    // Reads that ran while a send was in flight (one after the other, none would).
    const overlapping = reads.filter((read) => sends.some((send) => overlap(read, send)));
    expect(overlapping.length).toBeGreaterThan(sends.length / 2);
    // Never two sends at once: a batch goes only after the last one was acknowledged.
    for (let i = 1; i < sends.length; i++) expect(sends[i].startedAt).toBeGreaterThanOrEqual(sends[i - 1].endedAt ?? Infinity);
  });

  it('drops what it read ahead when Kafka refuses a row of the batch in flight: the later rows of its key wait for it, and none is lost', async () => {
    const sends: SendRecord[] = [];
    const reads: Interval[] = [];
    const relay = startRelay(sends, recordingDeleteAndReads(h.db.pool as Pool, reads));
    const keys = Array.from({ length: 4 }, () => randomUUID());
    const [culprit] = keys;
    // The relay is busy by the 8th round (rows pile up behind each slow send): the culprit's
    // 8th event goes in a batch read while another was in flight.
    await writeRounds(keys, 25, { key: culprit, version: 8 });

    await eventually(async () => expect(await relay.deadLetterCount()).toBe(1), { timeoutMs: 30_000 });
    await eventually(async () => expect(await relay.backlog()).toBe(0), { timeoutMs: 30_000 });
    await eventually(() => expect(keys.flatMap((key) => versionsOf(reader, key)).length).toBe(99), { timeoutMs: 30_000 });
    for (const key of keys.slice(1)) expect(versionsOf(reader, key)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(versionsOf(reader, culprit)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1).filter((v) => v !== 8));

    await relay.stop();
    // The refused row's first send went while the next batch was read, and no later event of its
    // key was sent before its last refusal.
    const refusedSends = sends.filter((send) => send.failed && send.keys.length === 1 && send.keys[0] === culprit);
    expect(refusedSends.length).toBe(2);
    const firstAttempt = sends.find((send) => send.failed && send.keys.some((key, i) => key === culprit && send.versions[i] === 8));
    expect(firstAttempt && reads.some((read) => overlap(read, firstAttempt))).toBe(true);
    const lastRefusal = sends.indexOf(refusedSends[refusedSends.length - 1]);
    const laterOfCulprit = sends.findIndex((send) => !send.failed && send.keys.some((key, i) => key === culprit && send.versions[i] > 8));
    expect(laterOfCulprit).toBeGreaterThan(lastRefusal);
    expect(relay.stats()).toMatchObject({ deadLettered: 1, refused: 2 });
  });
});
