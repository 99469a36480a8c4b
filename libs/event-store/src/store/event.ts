import type { LogPosition } from './log-position';

/** Correlation and causation ids and whatever else travels with an event; JSON. */
export interface EventMetadata {
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly [key: string]: unknown;
}

/** An event to append. `id` is a UUID chosen by the writer: a retry with the same ids is a replay. */
export interface NewEvent<T = unknown> {
  readonly id: string;
  readonly type: string;
  /** JSON-serializable. */
  readonly data: T;
  readonly metadata?: EventMetadata;
}

/** An event as stored: its stream version, global position and writing transaction (its id in the store, see LogPosition). */
export interface RecordedEvent<T = unknown> extends LogPosition {
  readonly id: string;
  readonly type: string;
  readonly data: T;
  readonly metadata: EventMetadata;
  readonly streamId: string;
  /** 1 for the stream's first event, gapless. */
  readonly streamVersion: number;
  readonly recordedAt: Date;
  /**
   * Set when the event was stored as an older version of a contract event and is read upcast
   * (`type` and `data` are the newer version's): the stored type and its version.
   */
  readonly upcastFrom?: { readonly type: string; readonly version: number };
}

export interface AppendResult {
  /** The stream's version after the append: its last event's version. */
  readonly streamVersion: number;
  /** One per appended event, in order. */
  readonly globalPositions: readonly number[];
  /** Where the last appended event sits in the global order. */
  readonly position: LogPosition;
  /** True when these ids were already stored by an earlier, identical append (a retry). */
  readonly replayed: boolean;
}
