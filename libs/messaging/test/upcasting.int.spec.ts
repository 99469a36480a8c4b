import { randomUUID } from 'node:crypto';
import { withTransaction } from '@platform/core';
import { eventually, TopicReader } from '@platform/testing';
import {
  DLQ,
  NonRetriableError,
  readDeadLetters,
  redriveChosenDeadLetters,
  ServiceMessaging,
  type BrokerAdmin,
  type EnvelopeOf,
  type EventWindow,
  type HandlerContext,
  type UseCase,
  type WindowedUseCase,
} from '../src';
import { MemberJoinedV1, MemberJoinedV2 } from './fixtures/member-joined.events';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [MemberJoinedV2] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** One row per handling, no unique key: a second effect of one event shows as a second row. */
async function recordEffect(tx: HandlerContext['tx'], useCase: string, event: Envelope): Promise<void> {
  await tx.query(
    `INSERT INTO effects (use_case, event_id, given_name, family_name, is_v2, type, upcast_from, topic)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [useCase, event.id, event.payload.givenName, event.payload.familyName, event.payload instanceof MemberJoinedV2, event.type, event.upcastFrom?.version ?? null, event.topic],
  );
}

/** Declares v2 only; refuses (non-retriably) the members listed in `refused`, to make dead letters. */
class Greeter implements UseCase<typeof EVENTS> {
  readonly name = 'greeter';
  readonly events = EVENTS;

  async handle(event: Envelope, { tx }: HandlerContext): Promise<void> {
    const { rowCount } = await tx.query('SELECT 1 FROM refused WHERE member_id = $1', [event.payload.memberId]);
    if (rowCount) throw new NonRetriableError(`member ${event.payload.memberId} is refused`);
    await recordEffect(tx, this.name, event);
  }
}

/** The same, in processing-time windows. */
class Roster implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'roster';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 300, graceMs: 0, time: 'processing' } as const;

  groupBy(): string {
    return 'everyone';
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    for (const event of window.events) await recordEffect(tx, this.name, event);
  }
}

interface Effect {
  use_case: string;
  event_id: string;
  given_name: string;
  family_name: string;
  is_v2: boolean;
  type: string;
  upcast_from: number | null;
  topic: string;
}

describe('upcasting: a use case that declares v2 receives v1 as v2 (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  let admin: BrokerAdmin;
  const greeter = new Greeter();
  const roster = new Roster();

  const effects = async (eventId: string) => (await h.db.pool.query<Effect>('SELECT * FROM effects WHERE event_id = $1 ORDER BY use_case', [eventId])).rows;
  const publish = <T extends object>(event: typeof MemberJoinedV1 | typeof MemberJoinedV2, payload: T) =>
    withTransaction(h.db.pool, (tx) => messaging.publish(tx, event as never, payload as never));

  beforeAll(async () => {
    h = await messagingHarness('upcasting');
    await h.db.pool.query(`CREATE TABLE effects (use_case text, event_id uuid, given_name text, family_name text, is_v2 boolean, type text, upcast_from int, topic text);
                           CREATE TABLE refused (member_id uuid PRIMARY KEY)`);
    messaging = new ServiceMessaging({
      service: 'members',
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [MemberJoinedV1, MemberJoinedV2],
      useCases: [greeter, roster],
      logger: h.logger,
    });
    await messaging.start();
    admin = await h.broker.admin();
  });

  afterAll(async () => {
    await messaging?.stop();
    await admin?.disconnect();
    await h?.close();
  });

  it("subscribes each use case to the v1 topic beside its declared v2's", () => {
    for (const consumer of messaging.consumers) expect(consumer.topics).toEqual([h.naming.topic(MemberJoinedV2), h.naming.topic(MemberJoinedV1)]);
  });

  it('hands a v1 event read from Kafka to the v2 handlers as a validated v2, the envelope saying v1 was on the wire; a v2 event as it is', async () => {
    const [v1, v2] = await Promise.all([
      publish(MemberJoinedV1, { memberId: randomUUID(), name: 'Ada King Lovelace' }),
      publish(MemberJoinedV2, { memberId: randomUUID(), givenName: 'Grace', familyName: 'Hopper' }),
    ]);
    await eventually(async () => expect(await effects(v1.id)).toHaveLength(2), { timeoutMs: 30_000 });
    await eventually(async () => expect(await effects(v2.id)).toHaveLength(2), { timeoutMs: 30_000 });
    const upcast = { given_name: 'Ada King', family_name: 'Lovelace', is_v2: true, type: MemberJoinedV2.contract.ceType, upcast_from: 1, topic: h.naming.topic(MemberJoinedV1) };
    expect(await effects(v1.id)).toEqual([
      { use_case: 'greeter', event_id: v1.id, ...upcast },
      { use_case: 'roster', event_id: v1.id, ...upcast },
    ]);
    const native = { given_name: 'Grace', family_name: 'Hopper', is_v2: true, type: MemberJoinedV2.contract.ceType, upcast_from: null, topic: h.naming.topic(MemberJoinedV2) };
    expect(await effects(v2.id)).toEqual([
      { use_case: 'greeter', event_id: v2.id, ...native },
      { use_case: 'roster', event_id: v2.id, ...native },
    ]);
  });

  it('an event published in both versions side by side, under one event id, has one effect per use case', async () => {
    const members = Array.from({ length: 20 }, (_, i) => ({ memberId: randomUUID(), given: `Given${i}`, family: `Family${i}` }));
    const envelopes = await withTransaction(h.db.pool, async (tx) => {
      const published = [];
      for (const m of members) {
        published.push(
          await messaging.publishVersions(tx, [
            { event: MemberJoinedV1, payload: { memberId: m.memberId, name: `${m.given} ${m.family}` } },
            { event: MemberJoinedV2, payload: { memberId: m.memberId, givenName: m.given, familyName: m.family } },
          ]),
        );
      }
      return published;
    });
    const ids = envelopes.map(([v1, v2]) => {
      expect(v2.id).toBe(v1.id);
      expect(v2.time).toBe(v1.time);
      return v1.id;
    });

    // Both copies of each event are on Kafka, one per version's topic.
    const reader = await new TopicReader(h.brokers, [h.naming.topic(MemberJoinedV1), h.naming.topic(MemberJoinedV2)]).start();
    try {
      await eventually(
        async () => {
          for (const topic of [h.naming.topic(MemberJoinedV1), h.naming.topic(MemberJoinedV2)]) {
            expect(reader.messages.filter((m) => m.topic === topic && ids.includes(m.headers.ce_id))).toHaveLength(ids.length);
          }
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await reader.stop();
    }
    // Both use cases read both topics to the end (their offsets commit only past what is handled, or staged and handled)...
    for (const consumer of messaging.consumers) {
      await eventually(
        async () => {
          const behind: string[] = [];
          for (const topic of consumer.topics) {
            const [end, committed] = [await admin.endOffsets(topic), await admin.committedOffsets(consumer.groupId, [topic])];
            for (const { partition, offset } of end) {
              const at = committed.find((c) => c.partition === partition)?.offset ?? '-1';
              if (at !== (Number(offset) === 0 ? '-1' : offset)) behind.push(`${consumer.groupId} ${topic}:${partition} committed ${at}, end ${offset}`);
            }
          }
          expect(behind).toEqual([]);
        },
        { timeoutMs: 30_000 },
      );
    }
    // ...and every window is handled:
    await eventually(async () => expect((await h.db.pool.query('SELECT 1 FROM messaging.windows WHERE closed_at IS NULL')).rowCount).toBe(0), { timeoutMs: 10_000 });
    // one effect per event and use case; without the inbox (or the window staging) recognising the id, the second copy would add a second row.
    const { rows } = await h.db.pool.query<{ use_case: string; event_id: string; n: number }>(
      'SELECT use_case, event_id::text, count(*)::int AS n FROM effects WHERE event_id = ANY($1) GROUP BY 1, 2',
      [ids],
    );
    expect(rows.filter((r) => r.use_case === 'greeter').map((r) => [r.event_id, r.n]).sort()).toEqual(ids.map((id) => [id, 1]).sort());
    expect(rows.filter((r) => r.use_case === 'roster').map((r) => [r.event_id, r.n]).sort()).toEqual(ids.map((id) => [id, 1]).sort());
    // Whichever copy came first was handled; a copy from v1 reads as v2 like the other.
    const handled = (await h.db.pool.query<Effect>('SELECT * FROM effects WHERE event_id = ANY($1)', [ids])).rows;
    expect(handled.every((e) => e.is_v2 && e.type === MemberJoinedV2.contract.ceType && /^Given\d+$/.test(e.given_name) && /^Family\d+$/.test(e.family_name))).toBe(true);
  });

  it('a v1 dead letter, redriven, reaches the v2 handler as v2', async () => {
    const memberId = randomUUID();
    await h.db.pool.query('INSERT INTO refused (member_id) VALUES ($1)', [memberId]);
    const { id } = await publish(MemberJoinedV1, { memberId, name: 'Grace Brewster Hopper' });
    const letterOf = async () => (await readDeadLetters(admin, h.naming, 'members', 'greeter')).find((l) => l.headers.ce_id === id);
    await eventually(async () => expect(await letterOf()).toBeDefined(), { timeoutMs: 30_000 });
    const letter = (await letterOf())!;
    // The letter is the message as it was on the wire: v1.
    expect(letter.headers.ce_type).toBe(MemberJoinedV1.contract.ceType);
    expect(letter.headers[DLQ.reason]).toBe('non-retriable');
    expect(JSON.parse(letter.value!.toString())).toEqual({ memberId, name: 'Grace Brewster Hopper' });
    expect((await effects(id)).filter((e) => e.use_case === 'greeter')).toEqual([]);

    await h.db.pool.query('DELETE FROM refused WHERE member_id = $1', [memberId]);
    expect(await redriveChosenDeadLetters({ broker: h.broker, naming: h.naming, service: 'members', useCase: 'greeter', logger: h.logger, letters: [letter] })).toBe(1);
    await eventually(async () => expect((await effects(id)).filter((e) => e.use_case === 'greeter')).toHaveLength(1), { timeoutMs: 30_000 });
    expect((await effects(id)).find((e) => e.use_case === 'greeter')).toEqual({
      use_case: 'greeter',
      event_id: id,
      given_name: 'Grace Brewster',
      family_name: 'Hopper',
      is_v2: true,
      type: MemberJoinedV2.contract.ceType,
      upcast_from: 1,
      topic: messaging.consumers[0].redriveTopic,
    });
  });

  it('dead-letters at once a v1 event its upcaster makes no valid v2 of, saying why', async () => {
    const { id } = await publish(MemberJoinedV1, { memberId: randomUUID(), name: 'Plato' });
    for (const useCase of ['greeter', 'roster']) {
      await eventually(async () => expect((await readDeadLetters(admin, h.naming, 'members', useCase)).find((l) => l.headers.ce_id === id)).toBeDefined(), { timeoutMs: 30_000 });
      const letter = (await readDeadLetters(admin, h.naming, 'members', useCase)).find((l) => l.headers.ce_id === id)!;
      expect(letter.headers[DLQ.reason]).toBe('invalid-payload');
      expect(letter.headers[DLQ.errorName]).toBe('UpcastError');
      expect(letter.headers[DLQ.errorMessage]).toMatch(/^Cannot upcast fixtures.member-joined v1 to v2: the upcaster's result is not a valid v2: givenName/);
      expect(letter.headers[DLQ.attempts]).toBe('1');
    }
    expect(await effects(id)).toEqual([]);
  });
});
