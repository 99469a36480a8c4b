import type { AppendResult, NewEvent, RecordedEvent } from './event';
import type { ExpectedVersion } from './expected-version';
import type { ReadAllOptions, ReadAllPage } from './read-all';
import type { ReadStreamOptions } from './read-stream';
import type { Snapshot } from './snapshots';
import type { CloseBooksOptions, ClosedBooks, Summarize } from './close-books';

export interface AppendOptions {
  /** Default 'any' (no check). */
  readonly expectedVersion?: ExpectedVersion;
}

/** What writes: the store itself, or the store bound to a caller's transaction. */
export interface EventStoreWriter {
  /**
   * Appends atomically. Throws ConcurrencyError when the stream is not at `expectedVersion`,
   * EventIdConflictError when an id is stored elsewhere or with other content. Appending ids
   * that an identical earlier append stored returns that append's result with `replayed: true`.
   */
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  writeSnapshot(snapshot: Snapshot): Promise<void>;
}

/** The store's contract; test/conformance checks an implementation against it. */
export interface EventStore extends EventStoreWriter {
  readStream<T = unknown>(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<T>[]>;
  /** 0 when the stream has no events. */
  streamVersion(stream: string): Promise<number>;
  /** The global order, gap-safe: see ReadAllPage and LogPosition. */
  readAll<T = unknown>(options?: ReadAllOptions): Promise<ReadAllPage<T>>;
  readSnapshot<S = unknown>(stream: string): Promise<Snapshot<S> | undefined>;
  /** Summarizes the stream's open books into one event that opens the next ones; the rest moves to the archive (see PostgresEventStore). */
  closeBooks(stream: string, summarize: Summarize, options?: CloseBooksOptions): Promise<ClosedBooks>;
}
