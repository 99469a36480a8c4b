import { randomUUID } from 'node:crypto';
import { withTransaction, type HistogramFamily, type MetricFamily, type MetricLabels, type Metrics, type SampleReader } from '@platform/core';
import { UserCreated } from '@platform/contracts';
import { NonRetriableError, RetriableError, ServiceMessaging, type EnvelopeOf, type HandlerContext, type UseCase } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';
import { eventually, produceRaw } from '@platform/testing';

jest.setTimeout(90_000);

const key = (name: string, labels: MetricLabels = {}) => `${name}${JSON.stringify(Object.entries(labels).sort())}`;

/** The metrics port, recorded: what the libraries count, and what their readers answer when "scraped". */
class RecordedMetrics implements Metrics {
  readonly counters = new Map<string, number>();
  readonly observations = new Map<string, number[]>();
  private readonly readers: { name: string; read: SampleReader }[] = [];

  counter(family: MetricFamily, labels?: MetricLabels) {
    const id = key(family.name, labels);
    this.counters.set(id, this.counters.get(id) ?? 0);
    return { inc: (by = 1) => void this.counters.set(id, (this.counters.get(id) ?? 0) + by) };
  }

  histogram(family: HistogramFamily, labels?: MetricLabels) {
    const id = key(family.name, labels);
    return { observe: (value: number) => void this.observations.set(id, [...(this.observations.get(id) ?? []), value]) };
  }

  collect(family: MetricFamily, read: SampleReader) {
    const entry = { name: family.name, read };
    this.readers.push(entry);
    return () => void this.readers.splice(this.readers.indexOf(entry), 1);
  }

  /** Every reader's samples, as a scrape would see them: series id -> value. */
  async scrape(): Promise<Map<string, number>> {
    const values = new Map<string, number>();
    for (const { name, read } of this.readers) for (const s of await read()) values.set(key(name, s.labels), s.value);
    return values;
  }
}

/** Welcomes users; waits while the gate is closed; `fail-once` fails its first attempt, `poison` cannot be handled. */
class WelcomeUseCase implements UseCase<readonly [typeof UserCreated]> {
  readonly name = 'welcome';
  readonly events = [UserCreated] as const;
  readonly retry = { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 50 };
  readonly maxPerTransaction = 1;
  private open!: () => void;
  gate = new Promise<void>((resolve) => (this.open = resolve));
  private readonly attempts = new Map<string, number>();

  release(): void {
    this.open();
  }

  async handle(event: EnvelopeOf<this['events']>, { tx }: HandlerContext): Promise<void> {
    await this.gate;
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    if (event.payload.displayName === 'fail-once' && attempt === 1) throw new RetriableError('first attempt fails');
    if (event.payload.displayName === 'poison') throw new NonRetriableError('cannot be welcomed');
    await tx.query('INSERT INTO welcomed (user_id) VALUES ($1)', [event.payload.userId]);
  }
}

describe('messaging metrics (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  const metrics = new RecordedMetrics();
  const welcome = new WelcomeUseCase();
  const users = (names: string[]) => names.map((displayName) => ({ event: UserCreated, payload: { userId: randomUUID(), email: `${randomUUID()}@example.com`, displayName } }));

  beforeAll(async () => {
    h = await messagingHarness('metrics');
    await h.db.pool.query('CREATE TABLE welcomed (user_id uuid PRIMARY KEY)');
    messaging = new ServiceMessaging({
      service: 'notifications',
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [UserCreated],
      useCases: [welcome],
      logger: h.logger,
      metrics,
    });
  });

  afterAll(async () => {
    welcome.release();
    await messaging?.stop();
    await h?.close();
  });

  const group = () => messaging.consumers[0].groupId;
  const topic = () => h.naming.topic(UserCreated);
  const lagOf = (scrape: Map<string, number>, name: string) =>
    [...scrape].filter(([id]) => id.startsWith(`${name}[`) && id.includes(`"${group()}"`) && id.includes(`"${topic()}"`)).map(([, v]) => v);

  it('reports the rows waiting in the outbox and the age of the oldest before the relay runs', async () => {
    await withTransaction(h.db.pool, (tx) => messaging.publishAll(tx, users(['a', 'b', 'c', 'fail-once', 'poison', 'f', 'g', 'h'])));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const scrape = await metrics.scrape();
    expect(scrape.get(key('messaging_outbox_rows'))).toBe(8);
    expect(scrape.get(key('messaging_outbox_oldest_row_age_seconds'))).toBeGreaterThanOrEqual(0.25);
    expect(scrape.get(key('messaging_relay_sent_total'))).toBe(0);
  });

  it('reports lag in messages and seconds while the use case is held, from the broker', async () => {
    await messaging.start();
    // The relay drains the outbox; the handler waits at the gate, so nothing is committed.
    const held = await eventually(
      async () => {
        const scrape = await metrics.scrape();
        expect(scrape.get(key('messaging_outbox_rows'))).toBe(0);
        expect(scrape.get(key('messaging_relay_sent_total'))).toBe(8);
        expect(lagOf(scrape, 'messaging_consumer_lag_messages').reduce((a, b) => a + b, 0)).toBe(8);
        expect(Math.max(...lagOf(scrape, 'messaging_consumer_lag_seconds'))).toBeGreaterThanOrEqual(1);
        return scrape;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(held.get(key('messaging_kafka_up'))).toBe(1);
    expect(held.get(key('messaging_outbox_oldest_row_age_seconds'))).toBe(0);
    // Every partition of the topic and of the redrive topic has a series.
    expect(lagOf(held, 'messaging_consumer_lag_messages')).toHaveLength(UserCreated.contract.partitions);
    expect([...held.keys()].filter((id) => id.startsWith('messaging_consumer_lag_messages[') && id.includes('.redrive"'))).toHaveLength(1);
    expect(metrics.counters.get(key('messaging_events_handled_total', { use_case: 'welcome' }))).toBe(0);
  });

  it('counts handled, retried and dead-lettered events and handler durations once released, and the lag goes to 0', async () => {
    welcome.release();
    const count = (name: string, labels: MetricLabels) => metrics.counters.get(key(name, { use_case: 'welcome', ...labels }));
    await eventually(
      async () => {
        expect(count('messaging_events_handled_total', {})).toBe(7);
        expect(count('messaging_events_dead_lettered_total', { reason: 'non-retriable' })).toBe(1);
        const scrape = await metrics.scrape();
        expect(lagOf(scrape, 'messaging_consumer_lag_messages').every((v) => v === 0)).toBe(true);
        expect(lagOf(scrape, 'messaging_consumer_lag_seconds').every((v) => v === 0)).toBe(true);
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(count('messaging_events_retried_total', {})).toBe(1);
    expect(count('messaging_events_dead_lettered_total', { reason: 'retries-exhausted' })).toBe(0);
    expect(count('messaging_events_dead_lettered_total', { reason: 'invalid-payload' })).toBe(0);
    // 7 handled, 1 failed attempt, 1 poison: every call is timed, failed ones included.
    expect(metrics.observations.get(key('messaging_handler_duration_seconds', { use_case: 'welcome' }))).toHaveLength(9);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM welcomed')).rows[0].n).toBe(7);
  });

  it('counts events read from the redrive topic, and an invalid one dead-lettered with its reason', async () => {
    const redrive = messaging.consumers[0].redriveTopic;
    const valid = cloudEventMessage(UserCreated, { userId: randomUUID(), email: 'r@example.com', displayName: 'redriven' });
    await produceRaw(h.brokers, redrive, [valid, { ...valid, value: '{"not":"a user"}', headers: { ...valid.headers, ce_id: randomUUID() } }]);
    const count = (name: string, labels: MetricLabels = {}) => metrics.counters.get(key(name, { use_case: 'welcome', ...labels }));
    await eventually(() => {
      expect(count('messaging_events_redriven_total')).toBe(2);
      expect(count('messaging_events_handled_total')).toBe(8);
      expect(count('messaging_events_dead_lettered_total', { reason: 'invalid-payload' })).toBe(1);
    });
  });

  it('reports Kafka as away (0) within the scrape timeout when the broker does not answer', async () => {
    // A broker whose admin never connects (the shape of a Kafka that is away: kafkajs retries for most of a minute).
    const nowhere = new RecordedMetrics();
    const away = new ServiceMessaging({
      service: 'notifications',
      broker: { admin: () => new Promise(() => undefined), producer: () => new Promise(() => undefined), consumer: () => new Promise(() => undefined) } as never,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [UserCreated],
      useCases: [new WelcomeUseCase()],
      logger: h.logger,
      metrics: nowhere,
    });
    const started = Date.now();
    const scrape = await nowhere.scrape();
    // One wait of 1.5 s for the lag read; the other families of that scrape answer at once.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(scrape.get(key('messaging_kafka_up'))).toBe(0);
    expect([...scrape.keys()].some((id) => id.startsWith('messaging_consumer_lag_messages['))).toBe(false);
    // The database still answers: the outbox is reported.
    expect(scrape.get(key('messaging_outbox_rows'))).toBe(0);
    await away.stop();
  });
});
