import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { EndpointUpdated, ReadableEvents } from '@platform/contracts';
import { eventually, TopicReader } from '@platform/testing';
import { CE, DLQ, ServiceMessaging, type EnvelopeOf, type EventWindow, type HandlerContext, type UseCase, type WindowedUseCase } from '../src';
import { readMessage } from '../src/consumer/read-message';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(180_000);

/**
 * Garbage produced straight to a real topic, interleaved with valid events, read by both kinds
 * of use case: every valid event is handled exactly once by each, every invalid message lands
 * in each use case's dead-letter topic exactly once with its reason, and no partition stalls.
 * The effects table has no unique constraint, so a second effect would be counted, not refused.
 */
const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

class PerEvent implements UseCase<typeof EVENTS> {
  readonly name = 'fuzz-events';
  readonly events = EVENTS;
  async handle(event: Envelope, { tx }: HandlerContext): Promise<void> {
    await tx.query('INSERT INTO effects (use_case, event_id) VALUES ($1, $2)', [this.name, event.id]);
  }
}

class Windowed implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'fuzz-windows';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 200, graceMs: 50, time: 'processing' } as const;
  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }
  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    for (const event of window.events) await tx.query('INSERT INTO effects (use_case, event_id) VALUES ($1, $2)', [this.name, event.id]);
  }
}

interface Message {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

const uuid = fc.uuid({ version: 4 });
const payload = fc.record({
  apiId: uuid,
  ownerId: fc.constantFrom(randomUUID(), randomUUID(), randomUUID()),
  endpointId: uuid,
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  path: fc.constantFrom('/orders', '/orders/{id}', '/users'),
  upstreamUrl: fc.constant('http://orders.internal:8080/v1'),
  change: fc.constantFrom('added', 'updated'),
  version: fc.integer({ min: 1, max: 1000 }),
});

const headersFor = (id: string): Record<string, string> => ({
  [CE.id]: id,
  [CE.type]: EndpointUpdated.contract.ceType,
  [CE.source]: '/services/fuzz',
  [CE.time]: new Date().toISOString(),
  [CE.specversion]: '1.0',
  [CE.contentType]: 'application/json',
});

const valid = fc.tuple(uuid, payload).map(([id, p]): Message => ({ key: p.apiId, value: Buffer.from(JSON.stringify(p)), headers: headersFor(id) }));
const notUuid = fc.string({ maxLength: 40 }).filter((s) => s.length > 0 && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s));
const notTime = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => Number.isNaN(Date.parse(s)));

/** Ways to spoil a valid message; each one makes it unusable by construction. */
const corrupted: fc.Arbitrary<Message> = fc.oneof(
  // bytes and headers from nowhere
  fc.record({
    key: fc.option(fc.string(), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), { nil: null }),
    headers: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }),
  }),
  // a well-formed envelope around bytes that are not JSON
  fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 200 })).map(([m, bytes]) => ({ ...m, value: Buffer.concat([Buffer.from('{'), Buffer.from(bytes)]) })),
  // one CloudEvents header missing
  fc.tuple(valid, fc.constantFrom(CE.id, CE.type, CE.source, CE.time, CE.specversion)).map(([m, drop]) => {
    const { [drop]: _dropped, ...headers } = m.headers;
    return { ...m, headers };
  }),
  // header values the window store cannot hold: an id that is not a UUID (the bug that stalled the digest), a time that is not one
  fc.tuple(valid, notUuid).map(([m, id]) => ({ ...m, headers: { ...m.headers, [CE.id]: id } })),
  fc.tuple(valid, notTime).map(([m, time]) => ({ ...m, headers: { ...m.headers, [CE.time]: time } })),
  fc.tuple(valid, fc.constantFrom('0000-01-01T00:00:00Z', '-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z')).map(([m, time]) => ({ ...m, headers: { ...m.headers, [CE.time]: time } })),
  // U+0000 where PostgreSQL text would refuse it: a header, the key, a payload string
  fc.tuple(valid, fc.string({ maxLength: 10 })).map(([m, s]) => ({ ...m, headers: { ...m.headers, 'x-note': `${s}\u0000` } })),
  valid.map((m) => ({ ...m, key: `${m.key}\u0000` })),
  fc.tuple(payload, uuid).map(([p, id]) => ({ key: p.apiId, value: Buffer.from(JSON.stringify({ ...p, path: '/a\u0000b' })), headers: headersFor(id) })),
  // a lone surrogate in a payload string (jsonb refuses it)
  fc.tuple(payload, uuid).map(([p, id]) => ({ key: p.apiId, value: Buffer.from(JSON.stringify({ ...p, method: 'GET\ud800' })), headers: headersFor(id) })),
  // the wrong type on this topic, an unknown spec version, another content type
  fc.tuple(valid, fc.string({ minLength: 1, maxLength: 30 })).map(([m, type]) => ({ ...m, headers: { ...m.headers, [CE.type]: `x.${type}` } })),
  valid.map((m) => ({ ...m, headers: { ...m.headers, [CE.specversion]: '0.3' } })),
  valid.map((m) => ({ ...m, headers: { ...m.headers, [CE.contentType]: 'application/avro' } })),
  // JSON that is not a valid payload
  fc.tuple(uuid, fc.jsonValue()).map(([id, json]) => ({ key: null, value: Buffer.from(JSON.stringify(json) ?? 'null'), headers: headersFor(id) })),
  fc.tuple(payload, uuid, fc.oneof(fc.constant('apiId'), fc.constant('version'), fc.constant('method'))).map(([p, id, field]) => ({
    key: p.apiId,
    value: Buffer.from(JSON.stringify({ ...p, [field]: field === 'version' ? -1 : 'not valid' })),
    headers: headersFor(id),
  })),
  // nothing at all
  valid.map((m) => ({ ...m, value: Buffer.alloc(0) })),
);

describe('malformed messages never stall a use case', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;

  beforeAll(async () => {
    h = await messagingHarness('malformed');
    await h.db.pool.query('CREATE TABLE effects (use_case text NOT NULL, event_id uuid NOT NULL)');
    messaging = new ServiceMessaging({
      service: 'fuzz',
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [],
      useCases: [new PerEvent(), new Windowed()],
      logger: h.logger,
    });
    await messaging.start();
    await eventually(() => expect(messaging.consumers.every((c) => c.assignment.length > 0)).toBe(true), { timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('handles each valid event once in both kinds, dead-letters each invalid message once in each, and commits every partition to its end', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
    process.stderr.write(`malformed-messages seed: ${seed} (FUZZ_SEED to replay)\n`);
    const items = fc.sample(fc.oneof({ arbitrary: valid.map((m) => ({ m, ok: true })), weight: 2 }, { arbitrary: corrupted.map((m) => ({ m, ok: false })), weight: 1 }), { numRuns: 240, seed });

    // The generators' promise checked against the reader itself: what is meant to be invalid is refused.
    const topic = h.naming.topic(EndpointUpdated);
    const readable = new ReadableEvents(EVENTS);
    for (const { m, ok } of items) {
      const read = () => readMessage({ topic, partition: 0, offset: '0', key: m.key, value: m.value, headers: m.headers, timestamp: 0 }, readable, h.naming);
      let refused = false;
      try {
        read();
      } catch {
        refused = true;
      }
      expect({ refused, message: m }).toEqual({ refused: !ok, message: m });
    }

    const kafka = new Kafka({ clientId: 'fuzz', brokers: h.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const sent: { ok: boolean; id?: string; partition: number; offset: string }[] = [];
    try {
      for (let i = 0; i < items.length; i += 20) {
        const chunk = items.slice(i, i + 20);
        const acks = await Promise.all(
          chunk.map(({ m }, j) =>
            producer.send({ topic, acks: -1, messages: [{ key: m.key, value: m.value, headers: m.headers, partition: (i + j) % 6 }] }).then((r) => r[0]),
          ),
        );
        chunk.forEach(({ m, ok }, j) => sent.push({ ok, id: ok ? m.headers[CE.id] : undefined, partition: acks[j].partition, offset: acks[j].baseOffset ?? '' }));
      }
    } finally {
      await producer.disconnect();
    }
    const validIds = sent.filter((s) => s.ok).map((s) => s.id as string);
    const invalid = sent.filter((s) => !s.ok).map((s) => `${s.partition}:${s.offset}`);
    expect(validIds.length).toBeGreaterThan(50);
    expect(invalid.length).toBeGreaterThan(30);

    const dlqTopics = messaging.consumers.map((c) => c.deadLetterTopic);
    const reader = await new TopicReader(h.brokers, dlqTopics).start();
    try {
      await eventually(
        async () => {
          const { rows } = await h.db.pool.query<{ use_case: string; n: number }>('SELECT use_case, count(*)::int AS n FROM effects GROUP BY use_case');
          expect(Object.fromEntries(rows.map((r) => [r.use_case, r.n]))).toEqual({ 'fuzz-events': validIds.length, 'fuzz-windows': validIds.length });
          for (const dlq of dlqTopics) expect(reader.messages.filter((d) => d.topic === dlq)).toHaveLength(invalid.length);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      // Exactly once, by event: no valid event twice, none missing, in either use case.
      const { rows } = await h.db.pool.query<{ use_case: string; event_id: string; n: number }>('SELECT use_case, event_id::text, count(*)::int AS n FROM effects GROUP BY 1, 2');
      for (const useCase of ['fuzz-events', 'fuzz-windows']) {
        const mine = rows.filter((r) => r.use_case === useCase);
        expect(mine.filter((r) => r.n !== 1)).toEqual([]);
        expect(mine.map((r) => r.event_id).sort()).toEqual([...validIds].sort());
      }
      // Each invalid message once in each dead-letter topic, with a reason and the error.
      for (const dlq of dlqTopics) {
        const letters = reader.messages.filter((d) => d.topic === dlq);
        expect(letters.map((d) => `${d.headers[DLQ.originalPartition]}:${d.headers[DLQ.originalOffset]}`).sort()).toEqual([...invalid].sort());
        for (const letter of letters) {
          expect(letter.headers[DLQ.reason]).toBe('invalid-payload');
          expect(letter.headers[DLQ.errorMessage]).toBeTruthy();
        }
      }
      // No partition stalled: both groups committed every partition to its end.
      const admin = await h.broker.admin();
      try {
        const ends = await admin.endOffsets(topic);
        for (const consumer of messaging.consumers) {
          await eventually(async () => {
            const committed = await admin.committedOffsets(consumer.groupId, [topic]);
            for (const end of ends) expect(committed.find((c) => c.partition === end.partition)?.offset).toBe(end.offset);
          }, { timeoutMs: 30_000 });
        }
      } finally {
        await admin.disconnect();
      }
    } finally {
      await reader.stop();
    }
  });

  it('dead-letters a message too large to be dead-lettered whole without its bytes, and the partition goes on', async () => {
    const topic = h.naming.topic(EndpointUpdated);
    const apiId = randomUUID();
    const ownerId = randomUUID();
    // Invalid (a version of 0) and just under the broker's default limit of 1,048,588 bytes a batch
    // (with its key, CloudEvents headers and the batch's own bytes, about 300 more); with the
    // failure's headers (some 500 bytes, without a stack: DEAD_LETTER_STACKS is off) the letter is over it.
    const shape = { apiId, ownerId, endpointId: randomUUID(), method: 'GET', path: '/big', upstreamUrl: 'http://up.internal', change: 'added', version: 0, note: '' };
    const big = { ...shape, note: 'x'.repeat(1_048_100 - JSON.stringify(shape).length) };
    const after = { apiId, ownerId, endpointId: randomUUID(), method: 'GET', path: '/after', upstreamUrl: 'http://up.internal', change: 'added', version: 1 };
    const bigId = randomUUID();
    const afterId = randomUUID();
    const kafka = new Kafka({ clientId: 'fuzz-big', brokers: h.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: apiId, value: JSON.stringify(big), headers: headersFor(bigId), partition: 2 }] });
      await producer.send({ topic, acks: -1, messages: [{ key: apiId, value: JSON.stringify(after), headers: headersFor(afterId), partition: 2 }] });
    } finally {
      await producer.disconnect();
    }
    const dlqTopics = messaging.consumers.map((c) => c.deadLetterTopic);
    const reader = await new TopicReader(h.brokers, dlqTopics).start();
    try {
      await eventually(
        async () => {
          const { rows } = await h.db.pool.query<{ use_case: string }>('SELECT use_case FROM effects WHERE event_id = $1', [afterId]);
          expect(rows.map((r) => r.use_case).sort()).toEqual(['fuzz-events', 'fuzz-windows']);
          for (const dlq of dlqTopics) {
            const letters = reader.messages.filter((m) => m.topic === dlq && m.headers[CE.id] === bigId);
            expect(letters).toHaveLength(1);
            expect(letters[0].headers[DLQ.reason]).toBe('invalid-payload');
            expect(letters[0].headers[DLQ.valueOmitted]).toMatch(/^\d+ bytes; the letter with them was refused/);
            expect(letters[0].value ?? '').toBe('');
          }
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      await reader.stop();
    }
  });
});
