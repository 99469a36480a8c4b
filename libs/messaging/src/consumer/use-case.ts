import type { EventClass } from '@platform/contracts';
import type { EventEnvelope, EventMetadata, ReceivedEnvelope } from '../envelope/envelope';
import type { Logger, SqlClient } from '@platform/core';
import type { RetryPolicy } from './retry-policy';

/** The envelope of any of a use case's declared events; narrow it with `isEvent`. */
export type EnvelopeOf<E extends readonly EventClass[]> = ReceivedEnvelope<InstanceType<E[number]>>;

export interface HandlerContext {
  /**
   * The transaction the inbox record is written in: write the use case's effects here and
   * they commit together with "this event was handled", or not at all.
   */
  readonly tx: SqlClient;
  /** Publishes through the outbox in the same transaction, caused by the event being handled. */
  publish<T extends object>(event: EventClass<T>, payload: T, metadata?: EventMetadata): Promise<EventEnvelope<T>>;
  /**
   * Runs `callback` once the transaction has committed, not at all if it rolls back: for what
   * lives outside the database (metrics, caches). What must happen goes through `tx` or `publish`.
   */
  afterCommit(callback: () => void): void;
  readonly logger: Logger;
}

/**
 * One business use case: its name, the events it reacts to, and what it does. Each runs in
 * its own consumer group `<service>.<name>` subscribed only to its events' topics (and its
 * own redrive topic), so it has its own offsets, its own lag and its own failures.
 */
export interface UseCase<E extends readonly EventClass[] = readonly EventClass[]> {
  /** kebab-case, unique within the service; part of the consumer group id. */
  readonly name: string;
  readonly events: E;
  /** How failing events are retried before they go to the dead-letter topic. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Consecutive events of a partition handled in one transaction while none fails (each still
   * with its own inbox record and effects). Fewer commits, more throughput; a failure rolls the
   * group back and its events are handled one by one. 1 = one transaction per event.
   */
  readonly maxPerTransaction?: number;
  handle(event: EnvelopeOf<E>, context: HandlerContext): Promise<void>;
}
