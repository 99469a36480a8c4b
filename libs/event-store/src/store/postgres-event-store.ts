import type { Pool } from 'pg';
import type { EventClass } from '@platform/contracts';
import { cachedRead, noopMetrics, silentLogger, withTransaction, type Logger, type Metrics, type SqlClient } from '@platform/core';
import { EVENT_STORE_METRICS } from '../metrics/event-store-metrics';
import { AppendSignals } from '../notify/append-signals';
import { CatchUpSubscription, type Subscription, type SubscriptionOptions } from '../subscription/subscription';
import { appendToStream, type AppendRow, type AppendStatement } from './append';
import { GroupedAppends } from './grouped-appends';
import type { AppendResult, NewEvent, RecordedEvent } from './event';
import type { AppendOptions, EventStore, EventStoreWriter } from './event-store';
import { holdBackMetrics, type HoldBackMetrics } from './hold-back';
import { readAll, type ReadAllOptions, type ReadAllPage } from './read-all';
import { closeBooksIn, type CloseBooksOptions, type ClosedBooks, type Summarize } from './close-books';
import { openingVersion, readStream, streamVersion, type ReadStreamOptions } from './read-stream';
import { readSnapshot, writeSnapshot, type Snapshot } from './snapshots';
import { DEFAULT_STREAM_LENGTH_WARNING, StreamLengthWatch } from './stream-length';
import { StoredEventUpcaster } from '../upcasting/stored-event-upcaster';

export interface PostgresEventStoreOptions {
  readonly logger?: Logger;
  /** Minimum gap between the NOTIFYs sent after this process's commits (default 10 ms). */
  readonly notifyIntervalMs?: number;
  /** Reports how far readers are held back (holdBack()) when scraped: read then, cached 2 s. */
  readonly metrics?: Metrics;
  /**
   * The contract versions the code reads (events appended as `{ type: E.contract.ceType, data }`):
   * events stored as older versions of them are read upcast, by every read (streams, the global
   * order, subscriptions, projections, rebuilds). A registered older version without a chain of
   * upcasters to them is refused here.
   */
  readonly upcastTo?: readonly EventClass[];
  /**
   * A stream whose open books (its events since its books were last closed, see closeBooks) pass
   * this many events, or a multiple of it, is logged (a warning, once per crossing) and counted
   * (event_store_stream_length_crossings_total). Default 10,000; Infinity turns it off.
   */
  readonly streamLengthWarning?: number;
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
  /** Turns events stored as older contract versions into the versions the code reads. */
  readonly upcaster: StoredEventUpcaster;
  private readonly logger: Logger;
  /** Prepared once per pooled connection: the hot path parses and plans nothing. */
  private readonly pooled: AppendStatement;
  private readonly stopReporting: (() => void)[] = [];
  private readonly lengths: StreamLengthWatch;
  /** Appends of concurrent callers outside their own transactions, committed together. */
  private readonly grouped: GroupedAppends;

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.upcaster = new StoredEventUpcaster(options.upcastTo ?? []);
    this.signals = new AppendSignals(pool, this.logger, options.notifyIntervalMs);
    this.pooled = (text, values) => pool.query<AppendRow>({ name: 'event_store_append', text, values: [...values] });
    this.grouped = new GroupedAppends(pool, this.pooled, this.logger);
    const metrics = options.metrics ?? noopMetrics;
    this.lengths = new StreamLengthWatch(options.streamLengthWarning ?? DEFAULT_STREAM_LENGTH_WARNING, this.logger, metrics.counter(EVENT_STORE_METRICS.streamLengthCrossings), (stream) =>
      openingVersion(pool, stream),
    );
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
   * In a transaction of its own, one round trip; appends of concurrent callers that come while
   * one is on its way share the next statement and commit (GroupedAppends). (It cannot meet a
   * StreamOrderError: one that its group met is appended again alone, and a transaction alone
   * takes its id only once it holds the stream's lock.)
   */
  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const result = await this.grouped.append(stream, events, options.expectedVersion ?? 'any');
    if (!result.replayed) {
      this.signals.appended();
      await this.lengths.appended(stream, result.streamVersion - events.length, result.streamVersion);
    }
    return result;
  }

  /**
   * Appends inside the caller's open transaction (e.g. service-kit's `tx.sql`), so the caller's
   * own writes (outbox rows, state) commit or roll back with it. Readers are woken by a NOTIFY
   * sent at commit. A StreamOrderError here means: roll back and retry the whole transaction.
   */
  async appendInTransaction(tx: SqlClient, stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const result = await appendToStream(onConnection(tx), stream, events, options.expectedVersion ?? 'any', { notify: true, checkIds: true });
    if (!result.replayed) await this.lengths.appended(stream, result.streamVersion - events.length, result.streamVersion);
    return result;
  }

  /** This store's writes bound to the caller's open transaction (for CommandHandler). */
  inTransaction(tx: SqlClient): EventStoreTransaction {
    return {
      sql: tx,
      append: (stream, events, options) => this.appendInTransaction(tx, stream, events, options),
      writeSnapshot: (snapshot) => writeSnapshot(tx, snapshot),
      // Reads on the transaction's connection: a command holds one connection, not two, so a
      // burst of commands cannot drain the pool and wait on each other forever.
      readStream: <T>(stream: string, options?: ReadStreamOptions) => this.readStreamOn<T>(tx, stream, options),
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
          if (!appendResult.replayed) await this.lengths.appended(stream, appendResult.streamVersion - events.length, appendResult.streamVersion);
          return appendResult;
        },
        writeSnapshot: (snapshot) => writeSnapshot(sql, snapshot),
        readStream: <T>(stream: string, options?: ReadStreamOptions) => this.readStreamOn<T>(sql, stream, options),
        readSnapshot: <S>(stream: string) => readSnapshot<S>(sql, stream),
      }),
    );
    if (appended) this.signals.appended();
    return result;
  }

  readStream<T = unknown>(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<T>[]> {
    return this.readStreamOn<T>(this.pool, stream, options);
  }

  private async readStreamOn<T>(client: SqlClient, stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<T>[]> {
    return (await readStream(client, stream, options)).map((event) => this.upcaster.upcast<T>(event));
  }

  streamVersion(stream: string): Promise<number> {
    return streamVersion(this.pool, stream);
  }

  /** The next page of the global order, upcast; throws at an event that cannot be (UpcastError). */
  async readAll<T = unknown>(options?: ReadAllOptions): Promise<ReadAllPage<T>> {
    const page = await this.readAllStored(options);
    return { ...page, events: page.events.map((event) => this.upcaster.upcast<T>(event)) };
  }

  /**
   * The page as stored, older versions included for a type filter: for readers that upcast each
   * event where a failure stops them at that event (subscriptions, projections).
   */
  readAllStored(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    return readAll(this.pool, options.types ? { ...options, types: this.upcaster.storedTypes(options.types) } : options);
  }

  readSnapshot<S = unknown>(stream: string): Promise<Snapshot<S> | undefined> {
    return readSnapshot<S>(this.pool, stream);
  }

  writeSnapshot(snapshot: Snapshot): Promise<void> {
    return writeSnapshot(this.pool, snapshot);
  }

  /**
   * Closes the books of a stream that grows without bound: `summarize` gets its open books (every
   * event since the last closing, the previous summary first) and returns one event carrying what
   * the aggregate still needs; it is appended as the stream's next version and opens the new
   * books, and the events before it move to the archive (event_store.archived_events). The stream
   * keeps its id and its version numbers, so expected versions held by callers stay meaningful
   * (they fail as after any other append); aggregates load from the summary on (CommandHandler.
   * closeBooks folds it for you); `readStream(s, { books: 'closed' | 'all' })` reads the archive;
   * the global order (readAll, subscriptions, projections) keeps every archived event at its place
   * and adds the summary at the end. Appends to the stream wait for the closing to commit; one
   * whose expected version predates the summary is refused with ConcurrencyError.
   */
  async closeBooks(stream: string, summarize: Summarize, options?: CloseBooksOptions): Promise<ClosedBooks> {
    const closed = await withTransaction(this.pool, (tx) => closeBooksIn(tx, stream, summarize, (locked) => this.readStreamOn(locked, stream), options));
    this.signals.appended();
    this.lengths.closed(stream, closed.openedAt);
    return closed;
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
