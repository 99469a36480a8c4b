import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from './event';
import { toRecordedEvent, type EventRow } from './event-row';
import { LOG_START, maxLogPosition, positionOf, toSafeNumber, type LogPosition } from './log-position';

export interface ReadAllOptions {
  /** Exclusive: events after this place in the global order (default: from the start). */
  readonly after?: LogPosition;
  readonly limit?: number;
  /** Only these event types (the page's `next` still moves past the others). */
  readonly types?: readonly string[];
}

export interface ReadAllPage<T = unknown> {
  readonly events: RecordedEvent<T>[];
  /** Where to continue from; store it as the checkpoint once `events` are handled. */
  readonly next: LogPosition;
  /** True when the page holds every event readable now (it was not cut by the limit). */
  readonly caughtUp: boolean;
  /**
   * Committed events wait beyond the horizon for a transaction that can still append to this
   * store (it has appended and not ended) to end: read again soon rather than waiting for the
   * next wake-up, which they will not send.
   */
  readonly heldBack: boolean;
}

export const DEFAULT_READ_ALL_LIMIT = 1000;

// event_store.read_all (migration 1765000000002) computes the horizon first, then reads in
// later statements, with newer snapshots: below the horizon every transaction that can
// append has ended, so every event there is visible now and none can ever be added there.
// Its first row: `frontier`, the last such event (a short page may move its checkpoint there
// even when a type filter left the tail out), and `held_back`, whether committed events wait at
// or beyond the horizon. The page's events follow.
const READ_ALL_SQL = `SELECT r_held_back AS held_back, r_frontier_tx::text AS frontier_tx, r_frontier_pos AS frontier_pos,
    r_event_id AS event_id, r_event_type AS event_type, r_stream_id AS stream_id, r_stream_version AS stream_version,
    r_global_position AS global_position, r_transaction_id::text AS transaction_id, r_data AS data, r_metadata AS metadata,
    r_recorded_at AS recorded_at
  FROM event_store.read_all($1::xid8, $2::bigint, $3::integer, $4::text[])`;

type PageRow = EventRow & { held_back: boolean | null; frontier_tx: string | null; frontier_pos: string | null };

/** The next page of the global order, holding back everything a transaction still appending may yet precede. */
export async function readAll<T = unknown>(client: SqlClient, options: ReadAllOptions = {}): Promise<ReadAllPage<T>> {
  const { after = LOG_START, limit = DEFAULT_READ_ALL_LIMIT, types } = options;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  const { rows } = await client.query<PageRow>(READ_ALL_SQL, [String(after.transactionId), after.globalPosition, limit, types ?? null]);
  const [summary, ...page] = rows;
  const heldBack = summary.held_back === true;
  // No event below the horizon at all: nothing to read yet.
  if (summary.frontier_tx === null || summary.frontier_pos === null) return { events: [], next: after, caughtUp: true, heldBack };
  const events = page.map((row) => toRecordedEvent<T>(row));
  const caughtUp = events.length < limit;
  const last = events.length > 0 ? positionOf(events[events.length - 1]) : after;
  const frontier: LogPosition = {
    transactionId: toSafeNumber(summary.frontier_tx, 'transaction id'),
    globalPosition: toSafeNumber(summary.frontier_pos, 'global position'),
  };
  return { events, next: caughtUp ? maxLogPosition(last, maxLogPosition(after, frontier)) : last, caughtUp, heldBack };
}
