import { errorMessage, isTransientFailure, type SqlClient } from '@platform/core';
import type { RecordedEvent } from '../store/event';
import { positionOf, sameLogPosition, type LogPosition } from '../store/log-position';
import type { PostgresEventStore } from '../store/postgres-event-store';
import { lockCheckpoint, saveCheckpoint, saveFailure } from './checkpoints';
import type { Projection, ProjectionFailure } from './projection';

export type BatchOutcome =
  | { readonly kind: 'applied'; readonly applied: number; readonly next: LogPosition; readonly caughtUp: boolean; readonly heldBack: boolean }
  /** Another runner of the same projection moved the checkpoint first; nothing was applied. */
  | { readonly kind: 'moved' }
  | { readonly kind: 'failed'; readonly failure: ProjectionFailure };

class ApplyFailure extends Error {
  constructor(
    readonly index: number,
    readonly reason: unknown,
  ) {
    super(errorMessage(reason));
  }
}

class CheckpointMoved extends Error {}

async function applyAll(store: PostgresEventStore, projection: Projection, events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
  for (let index = 0; index < events.length; index++) {
    try {
      // Upcast here, not when read: an event that cannot be stops the projection at that event.
      await projection.apply(store.upcaster.upcast(events[index]), tx);
    } catch (error) {
      throw new ApplyFailure(index, error);
    }
  }
}

/**
 * One batch: read the projection's events after `from`, then in one transaction check the
 * checkpoint is still `from`, apply them and move it. An event whose apply throws (for a
 * reason other than the database's) stops the projection there: see recordFailure.
 */
export async function runBatch(store: PostgresEventStore, projection: Projection, from: LogPosition, batchSize: number): Promise<BatchOutcome> {
  const page = await store.readAllStored({ after: from, limit: batchSize, types: projection.eventTypes });
  if (page.events.length === 0 && sameLogPosition(page.next, from)) return { kind: 'applied', applied: 0, next: from, caughtUp: true, heldBack: page.heldBack };
  try {
    await store.transaction(async ({ sql }) => {
      const current = await lockCheckpoint(sql, projection.name);
      if (!sameLogPosition(current.position, from)) throw new CheckpointMoved();
      await applyAll(store, projection, page.events, sql);
      await saveCheckpoint(sql, projection.name, page.next);
    });
  } catch (error) {
    if (error instanceof CheckpointMoved) return { kind: 'moved' };
    if (error instanceof ApplyFailure && !isTransientFailure(error.reason)) return recordFailure(store, projection, from, page.events, error);
    throw error instanceof ApplyFailure ? error.reason : error;
  }
  return { kind: 'applied', applied: page.events.length, next: page.next, caughtUp: page.caughtUp, heldBack: page.heldBack };
}

/**
 * Applies the events before the failing one and records the failure, in one transaction: the
 * checkpoint ends right before the failing event, which stays unapplied until a restart
 * (after a fix) tries it again. A prefix that now fails earlier moves the failure there.
 */
async function recordFailure(
  store: PostgresEventStore,
  projection: Projection,
  from: LogPosition,
  events: readonly RecordedEvent[],
  first: ApplyFailure,
): Promise<BatchOutcome> {
  return store.transaction(async ({ sql }) => {
    const current = await lockCheckpoint(sql, projection.name);
    if (!sameLogPosition(current.position, from)) return { kind: 'moved' } as const;
    let failure = first;
    for (;;) {
      await sql.query('SAVEPOINT before_failed_event');
      try {
        await applyAll(store, projection, events.slice(0, failure.index), sql);
        break;
      } catch (error) {
        await sql.query('ROLLBACK TO SAVEPOINT before_failed_event');
        if (!(error instanceof ApplyFailure) || isTransientFailure(error.reason)) throw error;
        failure = error;
      }
    }
    const event = events[failure.index];
    const position = failure.index > 0 ? positionOf(events[failure.index - 1]) : from;
    await saveFailure(sql, projection.name, position, event, failure.message);
    return { kind: 'failed', failure: { error: failure.message, eventId: event.id, position: positionOf(event), at: new Date() } } as const;
  });
}
