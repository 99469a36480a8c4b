import { cachedRead, type CachedRead, type Metrics, type MetricSample, type SqlClient } from '@platform/core';
import type { Broker, BrokerAdmin } from '../kafka/broker';
import { ConsumerLagReader, type LagGroup, type PartitionLag } from './consumer-lag';
import type { SagaStatus } from '../saga/saga-store';
import { MESSAGING_METRICS } from './messaging-metrics';
import { SAGA_METRICS } from './saga-metrics';

export interface MessagingGaugeSources {
  readonly metrics: Metrics;
  /** The service's database, holding messaging.outbox. */
  readonly pool: SqlClient;
  readonly broker: Broker;
  /** The use cases' groups and the topics each reads. */
  readonly groups: readonly LagGroup[];
  /** The relay's running totals. */
  readonly relayStats: () => { readonly sent: number; readonly failures: number };
  /** The service's sagas: name (the metrics' label) and consumer group (their rows' namespace). */
  readonly sagas?: readonly { readonly name: string; readonly groupId: string }[];
}

interface OutboxState {
  readonly rows: number;
  readonly oldestAgeSeconds: number;
}

/** One scan of the outbox for both gauges; its age by the database's clock, as created_at is. */
const OUTBOX_SQL = `SELECT count(*)::bigint AS rows,
  COALESCE(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest
  FROM messaging.outbox`;

const SAGA_STATES: readonly SagaStatus[] = ['waiting', 'active', 'completed', 'compensated', 'failed', 'abandoned'];

interface SagaCounts {
  /** Instances per saga group and state. */
  readonly instances: ReadonlyMap<string, number>;
  /** Pending timeouts per saga group. */
  readonly timeouts: ReadonlyMap<string, number>;
}

/**
 * Both counts in one round trip; index-only scans of (saga, status) and (saga, due_at). Ended
 * instances stay in the table, so the first count grows with every instance ever run: a scan of
 * its index per scrape (cached 2 s) is the price of a by-state figure that needs no bookkeeping.
 */
const SAGA_COUNTS_SQL = `SELECT 'i' AS kind, saga, status, count(*)::bigint AS n FROM messaging.saga_instances WHERE saga = ANY($1::text[]) GROUP BY saga, status
  UNION ALL SELECT 't', saga, NULL, count(*)::bigint FROM messaging.saga_timeouts WHERE saga = ANY($1::text[]) GROUP BY saga`;

/**
 * What a service's messaging reports when scraped, read then rather than tracked: consumer lag
 * per group and partition (from the broker, cached 2 s, a scrape waits at most 1.5 s for it and
 * otherwise shows the last known lag with messaging_kafka_up 0), the outbox's rows and the age
 * of the oldest (one query, cached 2 s), and the relay's totals.
 */
export class MessagingGauges {
  private readonly lag: CachedRead<PartitionLag[]>;
  private readonly outbox: CachedRead<OutboxState>;
  private readonly sagaCounts: CachedRead<SagaCounts>;
  private readonly lagReader = new ConsumerLagReader();
  private readonly stops: (() => void)[];
  private admin?: Promise<BrokerAdmin>;
  private connected?: BrokerAdmin;
  private closed = false;

  constructor(private readonly sources: MessagingGaugeSources) {
    const { metrics } = sources;
    this.lag = cachedRead(() => this.readLag());
    this.outbox = cachedRead(() => this.readOutbox());
    this.sagaCounts = cachedRead(() => this.readSagaCounts());
    const lagSamples = async (pick: (lag: PartitionLag) => number | undefined): Promise<MetricSample[]> => {
      const { value } = await this.lag();
      const samples: MetricSample[] = [];
      for (const lag of value ?? []) {
        const v = pick(lag);
        if (v !== undefined) samples.push({ labels: { group: lag.group, topic: lag.topic, partition: String(lag.partition) }, value: v });
      }
      return samples;
    };
    this.stops = [
      metrics.collect({ ...MESSAGING_METRICS.lagMessages, type: 'gauge' }, () => lagSamples((l) => l.messages)),
      metrics.collect({ ...MESSAGING_METRICS.lagSeconds, type: 'gauge' }, () => lagSamples((l) => l.seconds)),
      metrics.collect({ ...MESSAGING_METRICS.kafkaUp, type: 'gauge' }, async () => [{ value: (await this.lag()).ok ? 1 : 0 }]),
      metrics.collect({ ...MESSAGING_METRICS.outboxRows, type: 'gauge' }, async () => {
        const { value } = await this.outbox();
        return value ? [{ value: value.rows }] : [];
      }),
      metrics.collect({ ...MESSAGING_METRICS.outboxOldestAge, type: 'gauge' }, async () => {
        const { value } = await this.outbox();
        return value ? [{ value: value.oldestAgeSeconds }] : [];
      }),
      metrics.collect({ ...MESSAGING_METRICS.relaySent, type: 'counter' }, () => [{ value: sources.relayStats().sent }]),
      metrics.collect({ ...MESSAGING_METRICS.relayFailures, type: 'counter' }, () => [{ value: sources.relayStats().failures }]),
    ];
    const sagas = sources.sagas ?? [];
    if (sagas.length > 0) {
      // Every state of every saga, zeros included: a sum or a ratio over them exists from the start.
      this.stops.push(
        metrics.collect({ ...SAGA_METRICS.instances, type: 'gauge' }, async () => {
          const { value } = await this.sagaCounts();
          if (!value) return [];
          return sagas.flatMap((saga) => SAGA_STATES.map((state) => ({ labels: { saga: saga.name, state }, value: value.instances.get(`${saga.groupId}\u0000${state}`) ?? 0 })));
        }),
        metrics.collect({ ...SAGA_METRICS.timeoutsPending, type: 'gauge' }, async () => {
          const { value } = await this.sagaCounts();
          return value ? sagas.map((saga) => ({ labels: { saga: saga.name }, value: value.timeouts.get(saga.groupId) ?? 0 })) : [];
        }),
      );
    }
  }

  /** Messaging (re)started: the broker may be asked again. */
  open(): void {
    this.closed = false;
  }

  /** Messaging stopped: no new broker connection is opened, the one open is closed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.dropAdmin();
  }

  /** Stops reporting for good. */
  async dispose(): Promise<void> {
    for (const stop of this.stops) stop();
    await this.close();
  }

  private async readLag(): Promise<PartitionLag[]> {
    if (this.closed) throw new Error('messaging is stopped');
    try {
      const admin = await this.adminClient();
      // Only topics that exist: kafkajs retries a question about a missing one for about a
      // minute (before messaging created them, or after someone deleted one). Without groups
      // this is the whole read, and still says whether Kafka answers.
      const existing = new Set(await admin.listTopics());
      const groups = this.sources.groups
        .map((g) => ({ groupId: g.groupId, topics: g.topics.filter((t) => existing.has(t)) }))
        .filter((g) => g.topics.length > 0);
      return groups.length === 0 ? [] : await this.lagReader.read(admin, groups);
    } catch (error) {
      // The connection may be what failed: the next read starts a new one.
      await this.dropAdmin();
      throw error;
    }
  }

  private async readOutbox(): Promise<OutboxState> {
    const { rows } = await this.sources.pool.query<{ rows: string; oldest: number }>(OUTBOX_SQL);
    return { rows: Number(rows[0].rows), oldestAgeSeconds: Number(rows[0].oldest) };
  }

  private async readSagaCounts(): Promise<SagaCounts> {
    const groups = (this.sources.sagas ?? []).map((s) => s.groupId);
    const { rows } = await this.sources.pool.query<{ kind: 'i' | 't'; saga: string; status: string | null; n: string }>(SAGA_COUNTS_SQL, [groups]);
    const instances = new Map<string, number>();
    const timeouts = new Map<string, number>();
    for (const row of rows) {
      if (row.kind === 'i') instances.set(`${row.saga}\u0000${row.status}`, Number(row.n));
      else timeouts.set(row.saga, Number(row.n));
    }
    return { instances, timeouts };
  }

  private async adminClient(): Promise<BrokerAdmin> {
    if (!this.admin) {
      const connecting: Promise<BrokerAdmin> = this.sources.broker.admin().then((admin) => {
        if (this.admin === connecting) this.connected = admin;
        return admin;
      });
      this.admin = connecting;
    }
    const admin = await this.admin;
    if (this.closed) {
      await this.dropAdmin();
      throw new Error('messaging is stopped');
    }
    return admin;
  }

  /**
   * Closes the admin connection. One still connecting is closed once it connects, not waited
   * for: kafkajs retries a connection for most of a minute, longer than a shutdown may take.
   */
  private async dropAdmin(): Promise<void> {
    const { admin, connected } = this;
    this.admin = undefined;
    this.connected = undefined;
    if (connected) await connected.disconnect().catch(() => undefined);
    else void admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
