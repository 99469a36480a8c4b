import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@platform/core';
import type { SagaJson } from './saga';

export type SagaStatus = 'waiting' | 'active' | 'completed' | 'compensated' | 'failed' | 'abandoned';

export interface SagaInstanceRow {
  readonly status: SagaStatus;
  readonly state: SagaJson | null;
  readonly early: readonly SagaJson[];
  readonly correlationId: string | null;
  readonly version: number;
}

/** Locks the instance, creating it as 'waiting' first if it does not exist; concurrent creators serialize on its key. */
export async function lockOrCreateInstance(tx: SqlClient, saga: string, key: string): Promise<SagaInstanceRow & { created: boolean }> {
  const { rowCount } = await tx.query(`INSERT INTO messaging.saga_instances (saga, instance_key, status) VALUES ($1, $2, 'waiting') ON CONFLICT DO NOTHING`, [saga, key]);
  const row = await lockInstance(tx, saga, key, false);
  if (!row) throw new Error(`saga instance ${saga}/${key} vanished while being locked`);
  return { ...row, created: rowCount === 1 };
}

/** Locks an existing instance; with `skipLocked`, undefined also when another transaction holds it. */
export async function lockInstance(tx: SqlClient, saga: string, key: string, skipLocked: boolean): Promise<SagaInstanceRow | undefined> {
  const { rows } = await tx.query<{ status: SagaStatus; state: SagaJson | null; early: SagaJson[]; correlation_id: string | null; version: number }>(
    `SELECT status, state, early, correlation_id, version FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2 FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
    [saga, key],
  );
  const row = rows[0];
  return row && { status: row.status, state: row.state, early: row.early, correlationId: row.correlation_id, version: row.version };
}

export async function instanceExists(client: SqlClient, saga: string, key: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2', [saga, key]);
  return rowCount === 1;
}

export async function saveInstance(tx: SqlClient, saga: string, key: string, row: SagaInstanceRow, ended: boolean): Promise<void> {
  await tx.query(
    `UPDATE messaging.saga_instances
        SET status = $3, state = $4, early = $5, correlation_id = $6, version = $7, updated_at = clock_timestamp(),
            ended_at = CASE WHEN $8 THEN clock_timestamp() ELSE ended_at END
      WHERE saga = $1 AND instance_key = $2`,
    [saga, key, row.status, JSON.stringify(row.state), JSON.stringify(row.early), row.correlationId, row.version, ended],
  );
}

export async function appendHistory(tx: SqlClient, saga: string, key: string, version: number, input: SagaJson, decision: SagaJson): Promise<void> {
  await tx.query('INSERT INTO messaging.saga_history (saga, instance_key, version, input, decision) VALUES ($1, $2, $3, $4, $5)', [
    saga,
    key,
    version,
    JSON.stringify(input),
    JSON.stringify(decision),
  ]);
}

/** Schedules (or moves) timeouts by name; returns their due times. */
export async function scheduleTimeouts(tx: SqlClient, saga: string, key: string, timeouts: readonly { name: string; dueAtMs: number; data: SagaJson }[]): Promise<void> {
  if (timeouts.length === 0) return;
  await tx.query(
    `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data)
     SELECT id, $1, $2, n, to_timestamp(d / 1000.0), x FROM unnest($3::uuid[], $4::text[], $5::float8[], $6::jsonb[]) AS t(id, n, d, x)
     ON CONFLICT (saga, instance_key, name) DO UPDATE SET id = excluded.id, due_at = excluded.due_at, data = excluded.data, attempts = 0, last_error = NULL`,
    [saga, key, timeouts.map(() => randomUUID()), timeouts.map((t) => t.name), timeouts.map((t) => t.dueAtMs), timeouts.map((t) => JSON.stringify(t.data))],
  );
}

/** Cancels timeouts by name, or all of the instance's when `names` is undefined. */
export async function cancelTimeouts(tx: SqlClient, saga: string, key: string, names?: readonly string[]): Promise<void> {
  if (names && names.length === 0) return;
  await tx.query(`DELETE FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = $2${names ? ' AND name = ANY($3)' : ''}`, names ? [saga, key, names] : [saga, key]);
}

export interface DueTimeout {
  readonly id: string;
  readonly key: string;
  readonly name: string;
  readonly data: SagaJson;
  readonly attempts: number;
}

/** Locks up to `limit` due timeouts of the saga; others' locked ones are skipped, not waited for. */
export async function lockDueTimeouts(tx: SqlClient, saga: string, limit: number): Promise<DueTimeout[]> {
  const { rows } = await tx.query<{ id: string; instance_key: string; name: string; data: SagaJson; attempts: number }>(
    `SELECT id, instance_key, name, data, attempts FROM messaging.saga_timeouts
      WHERE saga = $1 AND due_at <= clock_timestamp() ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [saga, limit],
  );
  return rows.map((r) => ({ id: r.id, key: r.instance_key, name: r.name, data: r.data, attempts: r.attempts }));
}

export async function deleteTimeout(tx: SqlClient, id: string): Promise<void> {
  await tx.query('DELETE FROM messaging.saga_timeouts WHERE id = $1', [id]);
}

/** A timeout whose handling failed: due again after the back-off, the attempt counted when it spent the budget. */
export async function retryTimeoutLater(tx: SqlClient, id: string, dueAtMs: number, counted: boolean, error: string): Promise<void> {
  await tx.query(
    `UPDATE messaging.saga_timeouts SET due_at = to_timestamp($2 / 1000.0), attempts = attempts + CASE WHEN $3 THEN 1 ELSE 0 END, last_error = $4 WHERE id = $1`,
    [id, dueAtMs, counted, error],
  );
}

/** The earliest due time of the saga's pending timeouts, in ms, if any. */
export async function nextDueAt(client: SqlClient, saga: string): Promise<number | undefined> {
  const { rows } = await client.query<{ due: string | null }>(`SELECT (extract(epoch from min(due_at)) * 1000)::float8::text AS due FROM messaging.saga_timeouts WHERE saga = $1`, [saga]);
  return rows[0]?.due ? Number(rows[0].due) : undefined;
}
