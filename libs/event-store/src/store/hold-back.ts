import type { SqlClient } from '@platform/core';

/**
 * How far readers are held back. Only a transaction that has appended to this store and not
 * ended yet holds them (from the id it took, or a little below it); transactions elsewhere on
 * the server, or here without an append, do not.
 */
export interface HoldBackMetrics {
  /** Readers see the events of store transaction ids below this one. */
  readonly horizonTransactionId: number;
  /** Committed events readers cannot see yet, because a transaction that appended before them is still open. */
  readonly heldBackEvents: number;
  /** Since the oldest of those was recorded; 0 when none is held back. */
  readonly heldBackMs: number;
  /** The appending transaction that sets the horizon, if one does (it is in this database). */
  readonly holdingTransaction?: {
    /** Its backend's pid; null for a prepared (two-phase) transaction. */
    readonly pid: number | null;
    /**
     * Since it began (pg_stat_activity.xact_start); null when unknown: a prepared transaction,
     * or another role's session seen without pg_read_all_stats.
     */
    readonly ageMs: number | null;
  };
}

interface Row {
  horizon: string;
  held_back_events: string;
  held_back_ms: number | null;
  holder: boolean;
  holder_pid: number | null;
  holder_age_ms: number | null;
}

export async function holdBackMetrics(client: SqlClient): Promise<HoldBackMetrics> {
  const { rows } = await client.query<Row>(
    `SELECT horizon::text AS horizon, held_back_events, held_back_ms, holder, holder_pid, holder_age_ms FROM event_store.hold_back()`,
  );
  const row = rows[0];
  return {
    horizonTransactionId: Number(row.horizon),
    heldBackEvents: Number(row.held_back_events),
    heldBackMs: row.held_back_ms ?? 0,
    ...(row.holder ? { holdingTransaction: { pid: row.holder_pid, ageMs: row.holder_age_ms } } : {}),
  };
}
