import type { SqlClient } from '@platform/core';
import type { RecordedEvent } from '../store/event';
import { toSafeNumber, type LogPosition } from '../store/log-position';
import type { ProjectionState, ProjectionStatus } from './projection';

interface CheckpointRow {
  name: string;
  transaction_id: string;
  global_position: string;
  status: ProjectionState;
  error: string | null;
  failed_event_id: string | null;
  failed_transaction_id: string | null;
  failed_position: string | null;
  failed_at: Date | null;
  updated_at: Date;
}

const COLUMNS = `name, transaction_id::text, global_position, status, error, failed_event_id,
  failed_transaction_id::text, failed_position, failed_at, updated_at`;

function toStatus(row: CheckpointRow): ProjectionStatus {
  const position = { transactionId: toSafeNumber(row.transaction_id, 'transaction id'), globalPosition: toSafeNumber(row.global_position, 'global position') };
  const failure =
    row.status === 'failed' && row.failed_event_id !== null
      ? {
          error: row.error ?? '',
          eventId: row.failed_event_id,
          position: { transactionId: Number(row.failed_transaction_id), globalPosition: Number(row.failed_position) },
          at: row.failed_at ?? row.updated_at,
        }
      : undefined;
  return { name: row.name, status: row.status, position, ...(failure ? { failure } : {}), updatedAt: row.updated_at };
}

export async function ensureCheckpoint(client: SqlClient, name: string): Promise<void> {
  await client.query('INSERT INTO event_store.projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
}

export async function readCheckpoint(client: SqlClient, name: string): Promise<ProjectionStatus | undefined> {
  const { rows } = await client.query<CheckpointRow>(`SELECT ${COLUMNS} FROM event_store.projections WHERE name = $1`, [name]);
  return rows.length === 0 ? undefined : toStatus(rows[0]);
}

/** Locks the row until the transaction ends: one batch of one projection at a time. */
export async function lockCheckpoint(tx: SqlClient, name: string): Promise<ProjectionStatus> {
  const { rows } = await tx.query<CheckpointRow>(`SELECT ${COLUMNS} FROM event_store.projections WHERE name = $1 FOR UPDATE`, [name]);
  if (rows.length === 0) throw new Error(`projection "${name}" has no checkpoint row`);
  return toStatus(rows[0]);
}

/** Moves the checkpoint; a successful batch also clears an earlier failure. */
export async function saveCheckpoint(tx: SqlClient, name: string, position: LogPosition): Promise<void> {
  await tx.query(
    `UPDATE event_store.projections
        SET transaction_id = $2::xid8, global_position = $3,
            status = CASE WHEN status = 'rebuilding' THEN 'rebuilding' ELSE 'active' END,
            error = NULL, failed_event_id = NULL, failed_transaction_id = NULL, failed_position = NULL, failed_at = NULL,
            updated_at = clock_timestamp()
      WHERE name = $1`,
    [name, String(position.transactionId), position.globalPosition],
  );
}

export async function saveFailure(tx: SqlClient, name: string, position: LogPosition, event: RecordedEvent, error: string): Promise<void> {
  await tx.query(
    `UPDATE event_store.projections
        SET transaction_id = $2::xid8, global_position = $3, status = 'failed', error = $4,
            failed_event_id = $5, failed_transaction_id = $6::xid8, failed_position = $7,
            failed_at = clock_timestamp(), updated_at = clock_timestamp()
      WHERE name = $1`,
    [name, String(position.transactionId), position.globalPosition, error, event.id, String(event.transactionId), event.globalPosition],
  );
}

export async function resetCheckpoint(tx: SqlClient, name: string): Promise<void> {
  await tx.query(
    `UPDATE event_store.projections
        SET transaction_id = '0', global_position = 0, status = 'rebuilding', error = NULL, failed_event_id = NULL,
            failed_transaction_id = NULL, failed_position = NULL, failed_at = NULL, updated_at = clock_timestamp()
      WHERE name = $1`,
    [name],
  );
}

export async function markCaughtUp(client: SqlClient, name: string): Promise<void> {
  await client.query(`UPDATE event_store.projections SET status = 'active', updated_at = clock_timestamp() WHERE name = $1 AND status = 'rebuilding'`, [
    name,
  ]);
}

/** The last global position handed out: the head a checkpoint's lag is measured against. */
export async function headPosition(client: SqlClient): Promise<number> {
  const { rows } = await client.query<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM event_store.events_global_position_seq');
  return rows[0].is_called ? Number(rows[0].last_value) : 0;
}

/**
 * Where a projection's checkpoint is and how many committed events follow it in the global
 * order, closed books included (through the (transaction_id, global_position) indexes, at most `limit`); undefined
 * before its checkpoint row exists.
 */
export async function checkpointLag(client: SqlClient, name: string, limit: number): Promise<{ globalPosition: number; behind: number } | undefined> {
  const { rows } = await client.query<{ global_position: string; behind: string }>(
    `SELECT p.global_position,
            (SELECT count(*) FROM (SELECT 1 FROM event_store.events e
                                    WHERE (e.transaction_id, e.global_position) > (p.transaction_id, p.global_position)
                                    UNION ALL
                                    SELECT 1 FROM event_store.archived_events a
                                    WHERE (a.transaction_id, a.global_position) > (p.transaction_id, p.global_position)
                                    LIMIT $2) AS after) AS behind
       FROM event_store.projections p WHERE p.name = $1`,
    [name, limit],
  );
  return rows.length === 0 ? undefined : { globalPosition: Number(rows[0].global_position), behind: Number(rows[0].behind) };
}
