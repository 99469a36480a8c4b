import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, sleep, TopicReader } from '@platform/testing';
import { DLQ, ServiceMessaging, type EnvelopeOf, type EventWindow, type HandlerContext, type WindowedUseCase } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** Handler calls per window over every instance of the test: a second call anywhere is seen. */
const calls = new Map<string, number>();

/**
 * Windows of `failing` owners throw on every attempt; windows of `flaky` owners throw until
 * their third attempt. The others write one row per window into a table with no unique
 * constraint, so a window handled twice shows as two rows.
 */
class FailingWindows implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'fragile';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 300, graceMs: 50, time: 'processing' } as const;
  readonly retry = { maxAttempts: 4, initialBackoffMs: 400, maxBackoffMs: 400 };

  constructor(
    private readonly failing: ReadonlySet<string>,
    private readonly flaky: ReadonlySet<string>,
  ) {}

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    const id = `${window.key}@${window.start.getTime()}`;
    const attempt = (calls.get(id) ?? 0) + 1;
    calls.set(id, attempt);
    await tx.query('INSERT INTO handled (owner_id, window_start, event_ids) VALUES ($1, $2, $3)', [window.key, window.start, window.events.map((e) => e.id)]);
    if (this.failing.has(window.key)) throw new Error(`window of ${window.key} always fails`);
    if (this.flaky.has(window.key) && attempt < 3) throw new Error(`window of ${window.key} fails on attempt ${attempt}`);
  }
}

function endpointEvent(ownerId: string): EndpointUpdated {
  return { apiId: randomUUID(), ownerId, endpointId: randomUUID(), method: 'GET', path: '/f', upstreamUrl: 'http://up.internal', change: 'added', version: 1 };
}

describe("a window's failure path (real PostgreSQL and Kafka)", () => {
  let h: MessagingHarness;
  const instances: ServiceMessaging[] = [];
  const failing = randomUUID();
  const flaky = randomUUID();
  const healthy = randomUUID();
  const useCase = () => new FailingWindows(new Set([failing]), new Set([flaky]));
  const startInstance = async () => {
    const messaging = new ServiceMessaging({ service: 'fragile', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [], useCases: [useCase()], logger: h.logger });
    instances.push(messaging);
    await messaging.start();
    return messaging;
  };
  const windowRow = async (owner: string) =>
    (await h.db.pool.query<{ attempts: number; failed: boolean; closed: boolean; last_error: string | null }>(
      `SELECT attempts, failed, closed_at IS NOT NULL AS closed, last_error FROM messaging.windows WHERE window_key = $1`,
      [owner],
    )).rows;

  beforeAll(async () => {
    h = await messagingHarness('window_failures');
    await h.db.pool.query('CREATE TABLE handled (owner_id text, window_start timestamptz, event_ids uuid[])');
  });

  afterAll(async () => {
    for (const messaging of instances) await messaging.stop().catch(() => undefined);
    await h?.close();
  });

  it('counts attempts in the database across instances and restarts, dead-letters under the lock, and never both handles and dead-letters a window', async () => {
    const first = await startInstance();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const messages = [failing, failing, flaky, healthy].map((owner) => {
      const message = cloudEventMessage(EndpointUpdated, endpointEvent(owner));
      return { ...message, headers: { ...message.headers, traceparent } };
    });
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), messages);

    // The failing window's first attempt is recorded with the window, then its instance goes away.
    await eventually(async () => expect((await windowRow(failing))[0]?.attempts).toBeGreaterThanOrEqual(1), { timeoutMs: 20_000 });
    await first.stop();
    instances.splice(instances.indexOf(first), 1);
    // Two new instances share the group, and the closing work, from here on.
    await Promise.all([startInstance(), startInstance()]);

    await eventually(
      async () => {
        // Its two events may arrive in one window or straddle two: each window is given up on alone.
        const failed = await windowRow(failing);
        expect(failed.length).toBeGreaterThan(0);
        for (const row of failed) expect(row).toEqual({ attempts: 4, failed: true, closed: true, last_error: `window of ${failing} always fails` });
        expect(await windowRow(flaky)).toEqual([expect.objectContaining({ attempts: 2, failed: false, closed: true })]);
        expect(await windowRow(healthy)).toEqual([expect.objectContaining({ attempts: 0, failed: false, closed: true })]);
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );

    // The budget held across the restart: four attempts in all, not four per instance.
    const callsOf = (owner: string) => [...calls.entries()].filter(([id]) => id.startsWith(owner)).map(([, n]) => n);
    expect(callsOf(failing)).toEqual((await windowRow(failing)).map(() => 4));
    expect(callsOf(flaky)).toEqual([3]);
    expect(callsOf(healthy)).toEqual([1]);
    // Failed attempts rolled back: only the flaky window's third attempt and the healthy window left a row.
    const { rows } = await h.db.pool.query<{ owner_id: string; n: number }>('SELECT owner_id, count(*)::int AS n FROM handled GROUP BY owner_id');
    expect(Object.fromEntries(rows.map((r) => [r.owner_id, r.n]))).toEqual({ [flaky]: 1, [healthy]: 1 });

    // The failing window's events reached its dead-letter topic once each, as they came in (trace context included).
    const reader = await new TopicReader(h.brokers, [instances[0].consumers[0].deadLetterTopic]).start();
    try {
      const failingIds = messages.filter((m) => JSON.parse(m.value).ownerId === failing).map((m) => m.headers.ce_id);
      await eventually(() => expect(reader.messages.map((m) => m.headers.ce_id).sort()).toEqual([...failingIds].sort()), { timeoutMs: 20_000 });
      await sleep(1000);
      expect(reader.messages).toHaveLength(failingIds.length);
      for (const letter of reader.messages) {
        expect(letter.headers).toMatchObject({ [DLQ.reason]: 'retries-exhausted', [DLQ.attempts]: '4', [DLQ.errorMessage]: `window of ${failing} always fails`, traceparent });
        expect(JSON.parse(letter.value ?? '{}')).toMatchObject({ ownerId: failing });
      }
    } finally {
      await reader.stop();
    }
  });
});
