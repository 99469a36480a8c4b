import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, sleep, TopicReader } from '@platform/testing';
import {
  DLQ,
  ServiceMessaging,
  type EnvelopeOf,
  type EventWindow,
  type HandlerContext,
  type WindowBatchContext,
  type WindowedUseCase,
  type WindowSpec,
} from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** Records each window it is given: key, bounds and the events' ids. */
class RecordingWindows implements WindowedUseCase<typeof EVENTS> {
  readonly events = EVENTS;
  lateSeen: { eventId: string; windowStart: number }[] = [];
  late?: WindowedUseCase<typeof EVENTS>['late'];

  constructor(
    readonly name: string,
    readonly window: WindowSpec,
    withLateHandler = false,
  ) {
    if (withLateHandler) {
      this.late = async (event, window) => {
        this.lateSeen.push({ eventId: event.id, windowStart: window.start.getTime() });
      };
    }
  }

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    await tx.query('INSERT INTO windows_seen (use_case, owner_id, window_start, window_end, event_ids) VALUES ($1, $2, $3, $4, $5)', [
      this.name,
      window.key,
      window.start,
      window.end,
      window.events.map((e) => e.id),
    ]);
  }
}

/**
 * Writes its windows with one statement per closing transaction (handleWindows). Windows of
 * `failingOwner` make that statement fail, and fail on their own the first time, retriably.
 */
class BatchedWindows extends RecordingWindows {
  readonly batchSizes: number[] = [];
  readonly retry = { maxAttempts: 5, initialBackoffMs: 50, maxBackoffMs: 200 };
  failingOwner?: string;
  private failedAlone = false;

  async handleWindows(windows: readonly EventWindow<Envelope>[], { tx }: WindowBatchContext): Promise<void> {
    this.batchSizes.push(windows.length);
    if (windows.some((w) => w.key === this.failingOwner)) throw new Error('this batch holds a failing window');
    await tx.query(
      `INSERT INTO windows_seen (use_case, owner_id, window_start, window_end, event_ids)
       SELECT $1, o, s, e, ARRAY(SELECT jsonb_array_elements_text(ids))::uuid[] FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[]) AS x(o, s, e, ids)`,
      [this.name, windows.map((w) => w.key), windows.map((w) => w.start), windows.map((w) => w.end), windows.map((w) => JSON.stringify(w.events.map((e) => e.id)))],
    );
  }

  override async handleWindow(window: EventWindow<Envelope>, context: HandlerContext): Promise<void> {
    if (window.key === this.failingOwner && !this.failedAlone) {
      this.failedAlone = true;
      throw Object.assign(new Error('first attempt of the failing window'), { retriable: true });
    }
    await super.handleWindow(window, context);
  }
}

function endpointEvent(ownerId: string, version = 1): EndpointUpdated {
  return { apiId: randomUUID(), ownerId, endpointId: randomUUID(), method: 'PUT', path: '/w', upstreamUrl: 'http://up.internal', change: 'updated', version };
}

describe('windowed use cases (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  const tumbling = new RecordingWindows('digest', { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'event' });
  const hopping = new RecordingWindows('sliding', { kind: 'hopping', sizeMs: 1000, advanceMs: 500, graceMs: 100, time: 'event' });
  const lateHandled = new RecordingWindows('late-aware', { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'event' }, true);
  const batched = new BatchedWindows('batched', { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'event' });
  let messaging: ServiceMessaging;

  const seen = async (useCase: string) =>
    (
      await h.db.pool.query<{ owner_id: string; start: string; end: string; event_ids: string[] }>(
        `SELECT owner_id, (extract(epoch from window_start) * 1000)::bigint::text AS start, (extract(epoch from window_end) * 1000)::bigint::text AS end, event_ids
           FROM windows_seen WHERE use_case = $1 ORDER BY window_start`,
        [useCase],
      )
    ).rows.map((r) => ({ owner: r.owner_id, start: Number(r.start), end: Number(r.end), ids: r.event_ids }));
  const send = (messages: ReturnType<typeof cloudEventMessage>[]) => produceRaw(h.brokers, h.naming.topic(EndpointUpdated), messages);
  /** Sends one message and waits for it on the digest use case's dead-letter topic. */
  const sendToDeadLetter = async (message: ReturnType<typeof cloudEventMessage>) => {
    const dlq = await new TopicReader(h.brokers, [messaging.consumers[0].deadLetterTopic]).start();
    try {
      await send([message]);
      return await eventually(() => {
        const found = dlq.messages.find((m) => m.headers.ce_id === message.headers.ce_id);
        expect(found).toBeDefined();
        return found!;
      }, { timeoutMs: 15_000 });
    } finally {
      await dlq.stop();
    }
  };

  beforeAll(async () => {
    h = await messagingHarness('windows');
    await h.db.pool.query('CREATE TABLE windows_seen (use_case text, owner_id text, window_start timestamptz, window_end timestamptz, event_ids uuid[])'); // no unique key: a window handled twice shows as two rows
    messaging = new ServiceMessaging({ service: 'windows', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [], useCases: [tumbling, hopping, lateHandled, batched], logger: h.logger });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('hands each (owner, window) all its events once, across partitions, without waiting for later events', async () => {
    const owners: string[] = [randomUUID(), randomUUID(), randomUUID()];
    // Event times in the middle of one 500 ms window; each event has its own API, so they spread over partitions.
    const windowStart = Math.floor(Date.now() / 500) * 500 + 500;
    while (Date.now() < windowStart + 50) await sleep(10);
    const time = new Date(windowStart + 100);
    const messages = owners.flatMap((owner) => [1, 2, 3, 4].map((v) => cloudEventMessage(EndpointUpdated, endpointEvent(owner, v), { time })));
    await send(messages);

    await eventually(async () => expect((await seen('digest')).filter((w) => owners.includes(w.owner))).toHaveLength(3), { timeoutMs: 15_000 });
    await sleep(1000); // a second handling of any window would show by now
    const windows = (await seen('digest')).filter((w) => owners.includes(w.owner));
    expect(windows).toHaveLength(3);
    for (const owner of owners) {
      const window = windows.find((w) => w.owner === owner)!;
      expect(window).toMatchObject({ start: windowStart, end: windowStart + 500 });
      const expected = messages.filter((m) => JSON.parse(m.value).ownerId === owner).map((m) => m.headers.ce_id);
      expect([...window.ids].sort()).toEqual([...expected].sort());
    }
    const partitions = new Set(messages.map((m) => m.key)).size;
    expect(partitions).toBeGreaterThan(1);
  });

  it('hands windows due together to handleWindows in batches, each window once', async () => {
    const owners: string[] = Array.from({ length: 8 }, () => randomUUID());
    const time = new Date(Math.floor(Date.now() / 500) * 500 + 200);
    const messages = owners.flatMap((owner) => [1, 2].map((v) => cloudEventMessage(EndpointUpdated, endpointEvent(owner, v), { time })));
    const callsBefore = batched.batchSizes.length;
    await send(messages);
    await eventually(async () => expect((await seen('batched')).filter((w) => owners.includes(w.owner))).toHaveLength(8), { timeoutMs: 15_000 });
    const windows = (await seen('batched')).filter((w) => owners.includes(w.owner));
    for (const owner of owners) {
      const expected = messages.filter((m) => JSON.parse(m.value).ownerId === owner).map((m) => m.headers.ce_id);
      expect([...windows.find((w) => w.owner === owner)!.ids].sort()).toEqual([...expected].sort());
    }
    // Fewer calls than windows: due together, they were handled several per call.
    const calls = batched.batchSizes.slice(callsBefore);
    expect(calls.length).toBeLessThan(8);
    expect(Math.max(...calls)).toBeGreaterThan(1);
  });

  it('redoes a failing batch window by window: the others commit at once, the failing window alone is retried', async () => {
    const owners: string[] = Array.from({ length: 6 }, () => randomUUID());
    batched.failingOwner = owners[0];
    const time = new Date(Math.floor(Date.now() / 500) * 500 + 200);
    await send(owners.map((owner) => cloudEventMessage(EndpointUpdated, endpointEvent(owner), { time })));
    await eventually(async () => expect((await seen('batched')).filter((w) => owners.includes(w.owner)).map((w) => w.owner).sort()).toEqual([...owners].sort()), {
      timeoutMs: 15_000,
    });
    const rows = await h.db.pool.query('SELECT owner_id, count(*)::int AS n FROM windows_seen WHERE use_case = $1 AND owner_id = ANY($2) GROUP BY owner_id', ['batched', owners]);
    expect(rows.rows.every((r) => r.n === 1)).toBe(true);
    const group = messaging.consumers.find((c) => c.groupId.endsWith('batched'))!.groupId;
    const { rows: failed } = await h.db.pool.query('SELECT count(*)::int AS n FROM messaging.windows WHERE consumer_group = $1 AND failed', [group]);
    expect(failed[0].n).toBe(0);
  });

  it('puts an event in every hopping window that covers it', async () => {
    const owner = randomUUID();
    const time = new Date(Math.floor(Date.now() / 500) * 500 + 250);
    const message = cloudEventMessage(EndpointUpdated, endpointEvent(owner), { time });
    await send([message]);
    await eventually(async () => expect((await seen('sliding')).filter((w) => w.owner === owner)).toHaveLength(2), { timeoutMs: 15_000 });
    const windows = (await seen('sliding')).filter((w) => w.owner === owner);
    expect(windows.map((w) => w.end - w.start)).toEqual([1000, 1000]);
    expect(windows[1].start - windows[0].start).toBe(500);
    for (const w of windows) expect(w.ids).toEqual([message.headers.ce_id]);
  });

  it('sends an event later than its handled window to the dead-letter topic, or to the late handler when declared', async () => {
    const owner = randomUUID();
    const time = new Date(Math.floor(Date.now() / 500) * 500 + 100);
    const onTime = cloudEventMessage(EndpointUpdated, endpointEvent(owner, 1), { time });
    await send([onTime]);
    await eventually(async () => expect((await seen('digest')).filter((w) => w.owner === owner)).toHaveLength(1), { timeoutMs: 15_000 });
    await eventually(async () => expect((await seen('late-aware')).filter((w) => w.owner === owner)).toHaveLength(1), { timeoutMs: 15_000 });

    const late = cloudEventMessage(EndpointUpdated, endpointEvent(owner, 2), { time });
    expect((await sendToDeadLetter(late)).headers[DLQ.reason]).toBe('late-event');
    await eventually(() => expect(lateHandled.lateSeen).toContainEqual({ eventId: late.headers.ce_id, windowStart: Math.floor(time.getTime() / 500) * 500 }), { timeoutMs: 15_000 });
    // The handled window was not touched again.
    expect((await seen('digest')).find((w) => w.owner === owner)?.ids).toEqual([onTime.headers.ce_id]);
  });

  it("commits a window's offsets only after the window was handled", async () => {
    const owner = randomUUID();
    const slowWindow = new Date(Date.now() + 3000); // event time 3 s ahead: its window closes later
    const admin = await h.broker.admin();
    try {
      const topic = h.naming.topic(EndpointUpdated);
      const message = cloudEventMessage(EndpointUpdated, endpointEvent(owner), { time: slowWindow, partition: 2 });
      const before = (await admin.endOffsets(topic)).find((o) => o.partition === 2)!.offset;
      await send([message]);
      await sleep(1000);
      const group = messaging.consumers[0].groupId;
      const committedEarly = (await admin.committedOffsets(group, [topic])).find((o) => o.partition === 2)!.offset;
      expect(BigInt(committedEarly)).toBeLessThanOrEqual(BigInt(before));
      await eventually(async () => expect((await seen('digest')).filter((w) => w.owner === owner)).toHaveLength(1), { timeoutMs: 15_000 });
      await eventually(async () => expect((await admin.committedOffsets(group, [topic])).find((o) => o.partition === 2)!.offset).toBe((BigInt(before) + 1n).toString()));
    } finally {
      await admin.disconnect();
    }
  });

  it('prunes windows handled long ago with their staged events; an event for a pruned window is late, not a new window', async () => {
    const group = messaging.consumers[0].groupId;
    const count = async (table: string) => Number((await h.db.pool.query(`SELECT count(*) FROM messaging.${table} WHERE consumer_group = $1`, [group])).rows[0].count);
    const staged = await count('window_events');
    const windows = await count('windows');
    expect(staged).toBeGreaterThan(0);
    const closer = messaging.consumers[0].windowCloser;
    if (!closer) throw new Error('the windowed use case has no window closer');
    expect(await closer.prune(Date.now())).toEqual({ events: 0, windows: 0 }); // handled just now: kept for an hour
    const pruned = await closer.prune(Date.now() + 2 * 60 * 60 * 1000); // as if two hours later: every window here was handled
    expect(pruned).toEqual({ events: staged, windows });
    expect(await count('window_events')).toBe(0);
    expect(await count('windows')).toBe(0);

    // Ten seconds ago is at or before the newest pruned window's close: without the prune mark
    // this event would open its window again and be handled as if it were on time.
    const owner = randomUUID();
    const late = cloudEventMessage(EndpointUpdated, endpointEvent(owner), { time: new Date(Date.now() - 10_000) });
    expect((await sendToDeadLetter(late)).headers[DLQ.reason]).toBe('late-event');
    expect((await seen('digest')).filter((w) => w.owner === owner)).toHaveLength(0);
    expect(await count('windows')).toBe(0);
  });
});
