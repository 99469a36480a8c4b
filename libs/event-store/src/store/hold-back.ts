import type { SqlClient } from '@platform/core';

/**
 * How far readers are held back. Transaction ids are cluster-wide: a long transaction in any
 * database of the server holds every reader of every store on it, so watch these.
 */
export interface HoldBackMetrics {
  /** Readers see transactions below this id (the oldest one in flight, cluster-wide). */
  readonly horizonTransactionId: number;
  /** Committed events readers cannot see yet, because an older transaction is still open. */
  readonly heldBackEvents: number;
  /** Since the oldest of those was recorded; 0 when none is held back. */
  readonly heldBackMs: number;
  /**
   * The open transaction holding the horizon (the one with the oldest xid), if any but ours.
   * Other roles' sessions are visible only with pg_read_all_stats (or as superuser).
   */
  readonly oldestTransaction?: { readonly ageMs: number; readonly database: string | null; readonly pid: number };
}

interface Row {
  horizon: string;
  held_back_events: string;
  held_back_ms: number | null;
  age_ms: number | null;
  datname: string | null;
  pid: number | null;
}

export async function holdBackMetrics(client: SqlClient): Promise<HoldBackMetrics> {
  const { rows } = await client.query<Row>(`
    WITH held AS (
      SELECT count(*) AS n, min(recorded_at) AS oldest FROM event_store.events
       WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
    )
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon,
           held.n AS held_back_events,
           (extract(epoch FROM clock_timestamp() - held.oldest) * 1000)::float8 AS held_back_ms,
           tx.age_ms, tx.datname, tx.pid
      FROM held
      LEFT JOIN LATERAL (
        SELECT (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8 AS age_ms, a.datname::text, a.pid
          FROM pg_stat_activity a
         WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
         ORDER BY age(a.backend_xid) DESC
         LIMIT 1
      ) tx ON true`);
  const row = rows[0];
  return {
    horizonTransactionId: Number(row.horizon),
    heldBackEvents: Number(row.held_back_events),
    heldBackMs: row.held_back_ms ?? 0,
    ...(row.pid !== null ? { oldestTransaction: { ageMs: row.age_ms ?? 0, database: row.datname, pid: row.pid } } : {}),
  };
}
