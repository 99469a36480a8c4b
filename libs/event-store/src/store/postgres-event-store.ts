import type { Pool } from 'pg';
import { cachedRead, silentLogger, withTransaction, type Logger, type Metrics, type SqlClient } from '@platform/core';
import { EVENT_STORE_METRICS } from '../metrics/event-store-metrics';
import { AppendSignals } from '../notify/append-signals';
import { CatchUpSubscription, type Subscription, type SubscriptionOptions } from '../subscription/subscription';
import { appendToStream, type AppendRow, type AppendStatement } from './append';
import type { AppendResult, NewEvent, RecordedEvent } from './event';
import type { AppendOptions, EventStore, EventStoreWriter } from './event-store';
import { holdBackMetrics, type HoldBackMetrics } from './hold-back';
import { readAll, type ReadAllOptions, type ReadAllPage } from './read-all';
import { readStream, streamVersion, type ReadStreamOptions } from './read-stream';
import { readSnapshot, writeSnapshot, type Snapshot } from './snapshots';

export interface PostgresEventStoreOptions {
  readonly logger?: Logger;
  /** Minimum gap between the NOTIFYs sent after this process's commits (default 10 ms). */
  readonly notifyIntervalMs?: number;
  /** Reports how far readers are held back (holdBack()) when scraped: read then, cached 2 s. */
  readonly metrics?: Metrics;
}

const onConnection =
  (tx: SqlClient): AppendStatement =>
  (text, values) =>
    tx.query<AppendRow>(text, values);

/** A writer bound to one open transaction, with that transaction's connection for the caller's own writes. */
export interface EventStoreTransaction extends EventStoreWriter, Pick<EventStore, 'readStream' | 'readSnapshot'> {
  readonly sql: SqlClient;
}

/**
 * The event store on PostgreSQL (schema `event_store`, see EVENT_STORE_MIGRATIONS). Takes the
 * service's pg pool; the caller owns and ends it.
 */
export class PostgresEventStore implements EventStore {
  readonly signals: AppendSignals;
  private readonly logger: Logger;
  /** Prepared once per pooled connection: the hot path parses and plans nothing. */
  private readonly pooled: AppendStatement;
  private readonly stopReporting: (() => void)[] = [];

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.signals = new AppendSignals(pool, this.logger, options.notifyIntervalMs);
    this.pooled = (text, values) => pool.query<AppendRow>({ name: 'event_store_append', text, values: [...values] });
    if (options.metrics) this.reportTo(options.metrics);
  }

  private reportTo(metrics: Metrics): void {
    const read = cachedRead(() => this.holdBack());
    this.stopReporting.push(
      metrics.collect({ ...EVENT_STORE_METRICS.heldBackEvents, type: 'gauge' }, async () => {
        const { value } = await read();
        return value ? [{ value: value.heldBackEvents }] : [];
      }),
      metrics.collect({ ...EVENT_STORE_METRICS.heldBackSeconds, type: 'gauge' }, async () => {
        const { value } = await read();
        return value ? [{ value: value.heldBackMs / 1000 }] : [];
      }),
    );
  }

  /**
   * One statement in a transaction of its own: one round trip. (It cannot meet a
   * StreamOrderError: its transaction takes its id only once it holds the stream's lock.)
   */
  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const result = await appendToStream(this.pooled, stream, events, options.expectedVersion ?? 'any', { notify: false, checkIds: false });
    if (!result.replayed) this.signals.appended();
    return result;
  }

  /**
   * Appends inside the caller's open transaction (e.g. service-kit's `tx.sql`), so the caller's
   * own writes (outbox rows, state) commit or roll back with it. Readers are woken by a NOTIFY
   * sent at commit. A StreamOrderError here means: roll back and retry the whole transaction.
   */
  appendInTransaction(tx: SqlClient, stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    return appendToStream(onConnection(tx), stream, events, options.expectedVersion ?? 'any', { notify: true, checkIds: true });
  }

  /** This store's writes bound to the caller's open transaction (for CommandHandler). */
  inTransaction(tx: SqlClient): EventStoreTransaction {
    return {
      sql: tx,
      append: (stream, events, options) => this.appendInTransaction(tx, stream, events, options),
      writeSnapshot: (snapshot) => writeSnapshot(tx, snapshot),
      // Reads on the transaction's connection: a command holds one connection, not two, so a
      // burst of commands cannot drain the pool and wait on each other forever.
      readStream: <T>(stream: string, options?: ReadStreamOptions) => readStream<T>(tx, stream, options),
      readSnapshot: <S>(stream: string) => readSnapshot<S>(tx, stream),
    };
  }

  /** Runs `work` in a transaction of the store's own; readers are woken after it commits. */
  async transaction<T>(work: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
    let appended = false;
    const result = await withTransaction(this.pool, (sql) =>
      work({
        sql,
        append: async (stream, events, options = {}) => {
          const appendResult = await appendToStream(onConnection(sql), stream, events, options.expectedVersion ?? 'any', { notify: false, checkIds: true });
          appended ||= !appendResult.replayed;
          return appendResult;
        },
        writeSnapshot: (snapshot) => writeSnapshot(sql, snapshot),
        readStream: <T>(stream: string, options?: ReadStreamOptions) => readStream<T>(sql, stream, options),
        readSnapshot: <S>(stream: string) => readSnapshot<S>(sql, stream),
      }),
    );
    if (appended) this.signals.appended();
    return result;
  }

  readStream<T = unknown>(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<T>[]> {
    return readStream<T>(this.pool, stream, options);
  }

  streamVersion(stream: string): Promise<number> {
    return streamVersion(this.pool, stream);
  }

  readAll<T = unknown>(options?: ReadAllOptions): Promise<ReadAllPage<T>> {
    return readAll<T>(this.pool, options);
  }

  readSnapshot<S = unknown>(stream: string): Promise<Snapshot<S> | undefined> {
    return readSnapshot<S>(this.pool, stream);
  }

  writeSnapshot(snapshot: Snapshot): Promise<void> {
    return writeSnapshot(this.pool, snapshot);
  }

  /** The held-back time and the transaction holding readers back: export these as metrics. */
  holdBack(): Promise<HoldBackMetrics> {
    return holdBackMetrics(this.pool);
  }

  subscribe<T = unknown>(options: SubscriptionOptions<T>): Subscription {
    return new CatchUpSubscription<T>(this, { logger: this.logger, ...options });
  }

  /** Stops listening for wake-ups. Stop subscriptions and projection runners first; the pool stays open. */
  close(): void {
    for (const stop of this.stopReporting.splice(0)) stop();
    this.signals.close();
  }
}
