import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from './event';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './event-row';

/**
 * Which of a stream's events (see PostgresEventStore.closeBooks): `open`, the books since the
 * last closing (its opening summary and what followed; a stream never closed is all open);
 * `closed`, the events closings moved to the archive; `all`, both, in one version order.
 */
export type StreamBooks = 'open' | 'closed' | 'all';

export interface ReadStreamOptions {
  /** Forwards: the first version to read (default 1). Backwards: the first version going down (default the last). */
  readonly from?: number;
  readonly limit?: number;
  readonly backwards?: boolean;
  /** Default `open`, what aggregates load. A stream keeps its version numbers across closings, so `from` means the same in each. */
  readonly books?: StreamBooks;
}

const MAX_VERSION = '9223372036854775807';

const STORED_COLUMNS = 'global_position, transaction_id, stream_id, stream_version, event_id, event_type, data, metadata, recorded_at';

/**
 * The relation `e` a read of these books scans. `all` is a UNION ALL of plain columns: the
 * planner pushes the stream and version conditions into both primary keys and merges them.
 */
const BOOKS: Record<StreamBooks, string> = {
  open: 'event_store.events e',
  closed: 'event_store.archived_events e',
  all: `(SELECT ${STORED_COLUMNS} FROM event_store.events UNION ALL SELECT ${STORED_COLUMNS} FROM event_store.archived_events) e`,
};

/** A stream's committed events in version order (or reversed); a missing stream reads as none. */
export async function readStream<T = unknown>(client: SqlClient, stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<T>[]> {
  const { from, limit, backwards = false, books = 'open' } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError(`limit must be an integer >= 0, got ${limit}`);
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 0)) throw new RangeError(`from must be an integer >= 0, got ${from}`);
  const relation = BOOKS[books];
  if (relation === undefined) throw new RangeError(`books must be open, closed or all, got ${String(books)}`);
  const sql = backwards
    ? `SELECT ${EVENT_COLUMNS} FROM ${relation}
        WHERE e.stream_id = $1 AND e.stream_version <= $2 ORDER BY e.stream_version DESC LIMIT $3`
    : `SELECT ${EVENT_COLUMNS} FROM ${relation}
        WHERE e.stream_id = $1 AND e.stream_version >= $2 ORDER BY e.stream_version LIMIT $3`;
  const start = from ?? (backwards ? MAX_VERSION : 1);
  const { rows } = await client.query<EventRow>(sql, [stream, start, limit ?? null]);
  return rows.map((row) => toRecordedEvent<T>(row));
}

/** The stream's current version; 0 when it has no events. (A closing leaves its summary open, so the last version is always there.) */
export async function streamVersion(client: SqlClient, stream: string): Promise<number> {
  const { rows } = await client.query<{ version: string | null }>('SELECT max(stream_version) AS version FROM event_store.events WHERE stream_id = $1', [
    stream,
  ]);
  return rows[0].version === null ? 0 : Number(rows[0].version);
}

/** Where the stream's open books start: its first version in the hot table (1 unless closed); undefined without events. */
export async function openingVersion(client: SqlClient, stream: string): Promise<number | undefined> {
  const { rows } = await client.query<{ version: string | null }>('SELECT min(stream_version) AS version FROM event_store.events WHERE stream_id = $1', [
    stream,
  ]);
  return rows[0].version === null ? undefined : Number(rows[0].version);
}
