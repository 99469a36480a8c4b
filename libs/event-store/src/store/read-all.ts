import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from './event';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './event-row';
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
   * Committed events wait beyond the horizon for an older transaction (anywhere in the cluster)
   * to end: read again soon rather than waiting for the next wake-up, which they will not send.
   */
  readonly heldBack: boolean;
}

export const DEFAULT_READ_ALL_LIMIT = 1000;

// All parts read one snapshot, and pg_current_snapshot() is that snapshot: every transaction
// below its xmin has ended, so every event with such a transaction id is visible now and no
// event can ever be added below it. `frontier` is the last such event: a short page may move
// its checkpoint there even when a type filter left the tail out. `held` says whether
// committed events wait at or beyond the xmin.
const sqlFor = (filtered: boolean) => `
  WITH held AS (
    SELECT EXISTS (
      SELECT 1 FROM event_store.events h WHERE h.transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
    ) AS held_back
  ), frontier AS (
    SELECT f.transaction_id::text AS frontier_tx, f.global_position AS frontier_pos
      FROM event_store.events f
     WHERE f.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY f.transaction_id DESC, f.global_position DESC
     LIMIT 1
  ), page AS (
    SELECT ${EVENT_COLUMNS}, e.transaction_id AS order_tx
      FROM event_store.events e
     WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
       AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ${filtered ? 'AND e.event_type = ANY($4::text[])' : ''}
     ORDER BY e.transaction_id, e.global_position
     LIMIT $3
  )
  SELECT held.held_back, frontier.frontier_tx, frontier.frontier_pos, page.*
    FROM held LEFT JOIN frontier ON true LEFT JOIN page ON true
   ORDER BY page.order_tx, page.global_position`;

const UNFILTERED = sqlFor(false);
const FILTERED = sqlFor(true);

type PageRow = EventRow & { held_back: boolean; frontier_tx: string | null; frontier_pos: string | null };

/** The next page of the global order, holding back everything at or after the oldest open transaction. */
export async function readAll<T = unknown>(client: SqlClient, options: ReadAllOptions = {}): Promise<ReadAllPage<T>> {
  const { after = LOG_START, limit = DEFAULT_READ_ALL_LIMIT, types } = options;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  const values: unknown[] = [String(after.transactionId), after.globalPosition, limit];
  if (types) values.push(types);
  const { rows } = await client.query<PageRow>(types ? FILTERED : UNFILTERED, values);
  const heldBack = rows[0].held_back;
  // No event below the horizon at all: nothing to read yet.
  if (rows[0].frontier_tx === null || rows[0].frontier_pos === null) return { events: [], next: after, caughtUp: true, heldBack };
  const events = rows[0].event_id === null ? [] : rows.map((row) => toRecordedEvent<T>(row));
  const caughtUp = events.length < limit;
  const last = events.length > 0 ? positionOf(events[events.length - 1]) : after;
  const frontier: LogPosition = {
    transactionId: toSafeNumber(rows[0].frontier_tx, 'transaction id'),
    globalPosition: toSafeNumber(rows[0].frontier_pos, 'global position'),
  };
  return { events, next: caughtUp ? maxLogPosition(last, maxLogPosition(after, frontier)) : last, caughtUp, heldBack };
}
