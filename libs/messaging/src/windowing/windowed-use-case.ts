import type { EventClass } from '@platform/contracts';
import type { RetryPolicy } from '../consumer/retry-policy';
import type { Logger, SqlClient } from '@platform/core';
import type { EventEnvelope } from '../envelope/envelope';
import type { PendingEvent } from '../outbox/publisher';
import type { EnvelopeOf, HandlerContext } from '../consumer/use-case';
import type { WindowSpec } from './window-spec';

export interface EventWindow<T> {
  /** The grouping key, as `groupBy` returned it. */
  readonly key: string;
  readonly start: Date;
  readonly end: Date;
  /** Every event of this key and window, by event time, then partition and offset. */
  readonly events: readonly T[];
}

/** What handleWindows gets: the closing transaction, and publishing caused by a given window. */
export interface WindowBatchContext {
  readonly tx: SqlClient;
  readonly logger: Logger;
  /** Runs `callback` once the closing transaction has committed (see HandlerContext.afterCommit). */
  afterCommit(callback: () => void): void;
  /** Publishes through the outbox in the same transaction, each event caused by its window's events. */
  publishAll(events: readonly (PendingEvent & { window: EventWindow<EventEnvelope> })[]): Promise<EventEnvelope[]>;
}

export type LateEventHandler<E extends readonly EventClass[]> = (
  event: EnvelopeOf<E>,
  window: Omit<EventWindow<never>, 'events'>,
  context: HandlerContext,
) => Promise<void>;

/**
 * A use case that handles events in windows: its handler receives all events of one
 * (key, window) together and runs exactly once for it, also across crashes and restarts.
 */
export interface WindowedUseCase<E extends readonly EventClass[] = readonly EventClass[]> {
  readonly name: string;
  readonly events: E;
  readonly window: WindowSpec;
  /** The grouping key of an event, e.g. the API owner. */
  groupBy(event: EnvelopeOf<E>): string;
  /** Runs in one transaction with the window's idempotency record. */
  handleWindow(window: EventWindow<EnvelopeOf<E>>, context: HandlerContext): Promise<void>;
  /**
   * Optional, for throughput: the windows one closing transaction took (up to 20, all due at
   * once), in one call, so their results can be written with one statement instead of one per
   * window. Same guarantee as handleWindow: it commits with the windows' idempotency records or
   * not at all. If it throws, the batch is rolled back and redone window by window with
   * handleWindow, so a failing window is retried (and dead-lettered) on its own.
   */
  handleWindows?(windows: readonly EventWindow<EnvelopeOf<E>>[], context: WindowBatchContext): Promise<void>;
  /** Events arriving after their window was handled: to the dead-letter topic (default) or a handler. */
  readonly late?: 'dead-letter' | LateEventHandler<E>;
  /** Retries of a failing window before its events are dead-lettered. */
  readonly retry?: Partial<RetryPolicy>;
}

export function isWindowedUseCase(useCase: object): useCase is WindowedUseCase {
  return 'window' in useCase && typeof (useCase as WindowedUseCase).handleWindow === 'function';
}
