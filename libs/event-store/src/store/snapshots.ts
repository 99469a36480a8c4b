import type { SqlClient } from '@platform/core';

/** An aggregate's state at a stream version, tagged with the aggregate code's snapshot schema version. */
export interface Snapshot<S = unknown> {
  readonly streamId: string;
  readonly schemaVersion: number;
  readonly streamVersion: number;
  /** JSON. */
  readonly state: S;
}

export async function readSnapshot<S = unknown>(client: SqlClient, stream: string): Promise<Snapshot<S> | undefined> {
  const { rows } = await client.query<{ schema_version: number; stream_version: string; state: S }>(
    'SELECT schema_version, stream_version, state FROM event_store.snapshots WHERE stream_id = $1',
    [stream],
  );
  if (rows.length === 0) return undefined;
  return { streamId: stream, schemaVersion: rows[0].schema_version, streamVersion: Number(rows[0].stream_version), state: rows[0].state };
}

/**
 * Keeps the newest snapshot per stream; one of another schema version always replaces the
 * stored one, so a changed aggregate takes over as soon as it writes its first.
 */
export async function writeSnapshot(client: SqlClient, snapshot: Snapshot): Promise<void> {
  await client.query(
    `INSERT INTO event_store.snapshots (stream_id, schema_version, stream_version, state)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (stream_id) DO UPDATE
       SET schema_version = EXCLUDED.schema_version, stream_version = EXCLUDED.stream_version,
           state = EXCLUDED.state, taken_at = clock_timestamp()
     WHERE snapshots.schema_version <> EXCLUDED.schema_version OR snapshots.stream_version < EXCLUDED.stream_version`,
    [snapshot.streamId, snapshot.schemaVersion, snapshot.streamVersion, JSON.stringify(snapshot.state)],
  );
}
