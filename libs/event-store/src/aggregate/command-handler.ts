import { randomUUID } from 'node:crypto';
import { errorMessage, silentLogger, type Logger } from '@platform/core';
import { ConcurrencyError } from '../store/errors';
import type { ClosedBooks } from '../store/close-books';
import type { AppendResult, EventMetadata, NewEvent } from '../store/event';
import type { EventStore, EventStoreWriter } from '../store/event-store';
import { fold, snapshotDue, type Decider, type DomainEvent, type SnapshotPolicy } from './decider';
import { loadAggregate, type LoadedAggregate } from './load-aggregate';

export interface CommandHandlerOptions<S> {
  readonly snapshots?: SnapshotPolicy<S>;
  readonly logger?: Logger;
}

export interface HandleOptions {
  /** The version the caller last saw (e.g. If-Match): a mismatch is a ConcurrencyError before deciding. */
  readonly expectedVersion?: number;
  readonly metadata?: EventMetadata;
  /**
   * Where to append: the store (default), or `store.inTransaction(tx)` to commit with the
   * caller's writes. A writer that can read (inTransaction's can) also serves the load, so
   * the command uses only the transaction's connection.
   */
  readonly writer?: EventStoreWriter & Partial<Pick<EventStore, 'readStream' | 'readSnapshot'>>;
  /** Event ids (default random UUIDs). Deterministic ids make a retried request a replay. */
  readonly eventId?: (index: number) => string;
}

export interface HandleResult<E, S> {
  readonly state: S;
  /** The stream version after the command (unchanged when it decided nothing). */
  readonly version: number;
  /** What was decided, as appended: ids and metadata, e.g. to write matching outbox rows. */
  readonly events: readonly (NewEvent & E)[];
  /** Undefined when the command decided no events. */
  readonly appended?: AppendResult;
}

/**
 * Load, decide, append with the loaded version as the expected version: a concurrent write
 * in between makes the append fail with ConcurrencyError instead of overwriting it.
 */
export class CommandHandler<C, E extends DomainEvent, S> {
  private readonly logger: Logger;

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<C, E, S>,
    private readonly options: CommandHandlerOptions<S> = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  load(stream: string, from: Pick<EventStore, 'readStream' | 'readSnapshot'> = this.store): Promise<LoadedAggregate<S>> {
    return loadAggregate(from, this.decider, stream, this.options.snapshots);
  }

  async handle(stream: string, command: C, options: HandleOptions = {}): Promise<HandleResult<E, S>> {
    const writer = options.writer ?? this.store;
    const reader = writer.readStream && writer.readSnapshot ? (writer as Pick<EventStore, 'readStream' | 'readSnapshot'>) : this.store;
    const loaded = await this.load(stream, reader);
    if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
      throw new ConcurrencyError(stream, options.expectedVersion, loaded.version);
    }
    const decided = this.decider.decide(command, loaded.state);
    if (decided.length === 0) return { state: loaded.state, version: loaded.version, events: [] };
    const events = decided.map((event, index) => ({
      ...event,
      id: options.eventId?.(index) ?? randomUUID(),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    }));
    const appended = await writer.append(stream, events, { expectedVersion: loaded.version === 0 ? 'no_stream' : loaded.version });
    if (appended.replayed) {
      // The ids were stored by an earlier attempt: report the stream as it is.
      const current = await this.load(stream, reader);
      return { state: current.state, version: current.version, events, appended };
    }
    const state = fold(this.decider.evolve, loaded.state, decided);
    await this.snapshotIfDue(writer, stream, loaded.version, appended.streamVersion, state);
    return { state, version: appended.streamVersion, events, appended };
  }

  /**
   * Closes the stream's books (EventStore.closeBooks) with an opening event decided from the
   * aggregate's state: `opening(state)` must be an event whose `evolve` gives the state to go on
   * from whatever state it is applied to (an opening balance, not a change), because from now on
   * loads start at it. The state is folded from the open books read under the stream's lock, so
   * no command slips in between.
   */
  closeBooks(stream: string, opening: (state: S, version: number) => E, options: { expectedVersion?: number; metadata?: EventMetadata } = {}): Promise<ClosedBooks> {
    return this.store.closeBooks(
      stream,
      (openBooks) => {
        const state = fold(
          this.decider.evolve,
          this.decider.initialState(),
          openBooks.map((event) => ({ type: event.type, data: event.data }) as E),
        );
        const event = opening(state, openBooks[openBooks.length - 1].streamVersion);
        return { type: event.type, data: event.data, id: randomUUID(), ...(options.metadata ? { metadata: options.metadata } : {}) };
      },
      { expectedVersion: options.expectedVersion },
    );
  }

  // A snapshot only saves reading: failing to write one must not fail a command that committed.
  // Inside a caller's transaction the failed statement has aborted it anyway, so it propagates.
  private async snapshotIfDue(writer: EventStoreWriter, stream: string, before: number, after: number, state: S): Promise<void> {
    const policy = this.options.snapshots;
    if (!policy || !snapshotDue(policy.every, before, after)) return;
    try {
      await writer.writeSnapshot({
        streamId: stream,
        schemaVersion: policy.schemaVersion,
        streamVersion: after,
        state: policy.toSnapshot ? policy.toSnapshot(state) : state,
      });
    } catch (error) {
      if (writer !== this.store) throw error;
      this.logger.warn('snapshot write failed; the stream loads from events until the next one', { stream, error: errorMessage(error) });
    }
  }
}
