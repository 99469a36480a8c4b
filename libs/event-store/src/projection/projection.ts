import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from '../store/event';
import type { LogPosition } from '../store/log-position';

/**
 * A read model fed from the global order. `apply` runs inside the transaction that also moves
 * the projection's checkpoint: write the read model through `tx` and both commit together.
 */
export interface Projection {
  /** Unique within the database; the checkpoint's key. */
  readonly name: string;
  /** Only these types reach `apply` (the checkpoint still moves past the others). */
  readonly eventTypes: readonly string[];
  apply(event: RecordedEvent, tx: SqlClient): Promise<void>;
  /** Empties the read model for a rebuild; runs in the transaction that resets the checkpoint. */
  truncate(tx: SqlClient): Promise<void>;
}

export type ProjectionState = 'active' | 'rebuilding' | 'failed';

export interface ProjectionFailure {
  readonly error: string;
  readonly eventId: string;
  readonly position: LogPosition;
  readonly at: Date;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly status: ProjectionState;
  /** The checkpoint: every handled event up to here is in the read model. */
  readonly position: LogPosition;
  /** Set while status is 'failed': the event it stopped at, which is not applied. */
  readonly failure?: ProjectionFailure;
  readonly updatedAt: Date;
}

export interface ProjectionProgress {
  readonly projection: string;
  /** Events applied since this catch-up or rebuild started. */
  readonly processed: number;
  readonly eventsPerSecond: number;
  readonly position: LogPosition;
  /** Roughly how many events were appended after the checkpoint (positions handed out since); 0 when done. */
  readonly lag: number;
  readonly done: boolean;
}

/** A projection stopped at an event whose apply threw; nothing after it is applied. */
export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  readonly retriable = false;

  constructor(
    readonly projection: string,
    readonly failure: ProjectionFailure,
  ) {
    super(`projection "${projection}" failed at event ${failure.eventId}: ${failure.error}`);
  }
}
