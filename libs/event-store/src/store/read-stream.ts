import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from './event';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './event-row';

export interface ReadStreamOptions {
  /** Forwards: the first version to read (default 1). Backwards: the first version going down (default the last). */
  readonly from?: number;
  readonly limit?: number;
  readonly backwards?: boolean;
}

const MAX_VERSION = '9223372036854775807';

/** A stream's committed events in version order (or reversed); a missing stream reads as none. */
export async function readStream<T = unknown>(client: SqlClient, stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<T>[]> {
  const { from, limit, backwards = false } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError(`limit must be an integer >= 0, got ${limit}`);
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 0)) throw new RangeError(`from must be an integer >= 0, got ${from}`);
  const sql = backwards
    ? `SELECT ${EVENT_COLUMNS} FROM event_store.events e
        WHERE e.stream_id = $1 AND e.stream_version <= $2 ORDER BY e.stream_version DESC LIMIT $3`
    : `SELECT ${EVENT_COLUMNS} FROM event_store.events e
        WHERE e.stream_id = $1 AND e.stream_version >= $2 ORDER BY e.stream_version LIMIT $3`;
  const start = from ?? (backwards ? MAX_VERSION : 1);
  const { rows } = await client.query<EventRow>(sql, [stream, start, limit ?? null]);
  return rows.map((row) => toRecordedEvent<T>(row));
}

/** The stream's current version; 0 when it has no events. */
export async function streamVersion(client: SqlClient, stream: string): Promise<number> {
  const { rows } = await client.query<{ version: string | null }>('SELECT max(stream_version) AS version FROM event_store.events WHERE stream_id = $1', [
    stream,
  ]);
  return rows[0].version === null ? 0 : Number(rows[0].version);
}
