import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@platform/core';
import type { OutboxColumns } from '../outbox/publisher';
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

type InstanceColumns = { instance_key: string; status: SagaStatus; state: SagaJson | null; early: SagaJson[]; correlation_id: string | null; version: number };
const INSTANCE_COLUMNS = 'instance_key, status, state, early, correlation_id, version';
const instanceRow = (r: InstanceColumns): SagaInstanceRow => ({ status: r.status, state: r.state, early: r.early, correlationId: r.correlation_id, version: r.version });

/** Locks an existing instance; with `skipLocked`, undefined also when another transaction holds it. */
export async function lockInstance(tx: SqlClient, saga: string, key: string, skipLocked: boolean): Promise<SagaInstanceRow | undefined> {
  const { rows } = await tx.query<InstanceColumns>(
    `SELECT ${INSTANCE_COLUMNS} FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2 FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
    [saga, key],
  );
  return rows[0] && instanceRow(rows[0]);
}

/** Whether the instance exists (a plain read: also when another transaction holds it). */
export async function instanceExists(client: SqlClient, saga: string, key: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2', [saga, key]);
  return rowCount === 1;
}

interface InstanceWrite {
  readonly key: string;
  readonly row: SagaInstanceRow;
  readonly ended: boolean;
}
interface HistoryWrite {
  readonly key: string;
  readonly version: number;
  readonly input: SagaJson;
  readonly decision: SagaJson;
}
interface TimeoutWrite {
  readonly key: string;
  readonly name: string;
  readonly dueAtMs: number;
  readonly data: SagaJson;
}
/** A timeout of an instance by name, or all of its timeouts (name null). */
interface TimeoutCancel {
  readonly key: string;
  readonly name: string | null;
}

/**
 * The writes of many instances' steps, collected while the steps run and written with one
 * statement of each kind: the timeout firer's batches (a row's statement each made firing cost
 * about ten round trips a timeout). Given as the steps' `tx`, it takes only what the store
 * functions below write; any other statement fails the batch, and the firer then fires its
 * timeouts one by one. One step per instance: writes are applied cancels first, then schedules.
 */
export class SagaWriteBatch implements SqlClient {
  readonly instances: InstanceWrite[] = [];
  readonly history: HistoryWrite[] = [];
  readonly cancels: TimeoutCancel[] = [];
  readonly schedules: TimeoutWrite[] = [];

  constructor(readonly saga: string) {}

  query<R extends object>(text: string): Promise<{ rows: R[]; rowCount: number | null }> {
    return Promise.reject(new Error(`a saga step wrote a statement the timeout batch does not collect: ${text.slice(0, 80)}`));
  }

  /**
   * Everything collected, and the outbox rows of the messages the steps sent, in one statement
   * (one round trip: on a busy machine each one costs a wait for the database's turn on a core).
   * Its parts are sub-statements of one command, which cannot see each other's rows: a cancel
   * of a timeout that the same batch schedules again never removes the new row (the schedule's
   * row is invisible to the cancel, and a row the cancel removed is no conflict for the schedule).
   */
  async flush(tx: SqlClient, outbox?: OutboxColumns): Promise<void> {
    const statement = new CombinedWrite(this.saga);
    if (this.cancels.length > 0) statement.add(CANCELS_SQL, cancelParameters(this.cancels));
    if (this.schedules.length > 0) statement.add(SCHEDULES_SQL, scheduleParameters(this.schedules));
    if (this.history.length > 0) statement.add(HISTORY_SQL, historyParameters(this.history));
    if (this.instances.length > 0) statement.add(INSTANCES_SQL, instanceParameters(this.instances));
    // Only with rows: an INSERT of none would still fire the outbox's NOTIFY trigger.
    if (outbox && outbox.ids.length > 0) statement.add(OUTBOX_SQL, outboxParameters(outbox));
    await statement.run(tx);
  }
}

/**
 * Sub-statements with their own parameters ($1 is the saga, theirs from $2 on) joined into one
 * statement of data-modifying WITH parts.
 */
class CombinedWrite {
  private readonly parts: string[] = [];
  private readonly values: unknown[];

  constructor(saga: string) {
    this.values = [saga];
  }

  add(sql: string, parameters: readonly unknown[]): void {
    this.parts.push(`w${this.parts.length} AS (${renumbered(sql, this.values.length - 1)})`);
    this.values.push(...parameters);
  }

  async run(tx: SqlClient): Promise<void> {
    if (this.parts.length === 0) return;
    // $1 typed here too: a statement whose parts do not use it (the outbox alone) could not type it.
    await tx.query(`WITH ${this.parts.join(',\n')} SELECT $1::text`, this.values);
  }
}

const renumberings = new Map<string, string>();
/** The sub-statement with its parameters from $2 on moved up by `offset` ($1, the saga, stays). */
function renumbered(sql: string, offset: number): string {
  const key = `${offset}\u0000${sql}`;
  let text = renumberings.get(key);
  if (text === undefined) {
    text = sql.replace(/\$(\d+)/g, (_, n: string) => (n === '1' ? '$1' : `$${Number(n) + offset}`));
    renumberings.set(key, text);
  }
  return text;
}

/** Collected by a batch, or written now. */
async function write<T>(tx: SqlClient, saga: string, pick: (batch: SagaWriteBatch) => T[], writes: readonly T[], now: (tx: SqlClient, saga: string, writes: readonly T[]) => Promise<void>): Promise<void> {
  if (!(tx instanceof SagaWriteBatch)) return now(tx, saga, writes);
  if (tx.saga !== saga) throw new Error(`a write of saga ${saga} given to the batch of ${tx.saga}`);
  pick(tx).push(...writes);
}

export async function saveInstance(tx: SqlClient, saga: string, key: string, row: SagaInstanceRow, ended: boolean): Promise<void> {
  await write(tx, saga, (b) => b.instances, [{ key, row, ended }], writeInstances);
}

export async function appendHistory(tx: SqlClient, saga: string, key: string, version: number, input: SagaJson, decision: SagaJson): Promise<void> {
  await write(tx, saga, (b) => b.history, [{ key, version, input, decision }], writeHistory);
}

/** Schedules (or moves) timeouts by name. */
export async function scheduleTimeouts(tx: SqlClient, saga: string, key: string, timeouts: readonly { name: string; dueAtMs: number; data: SagaJson }[]): Promise<void> {
  if (timeouts.length === 0) return;
  await write(tx, saga, (b) => b.schedules, timeouts.map((t) => ({ key, ...t })), writeSchedules);
}

/** Cancels timeouts by name, or all of the instance's when `names` is undefined. */
export async function cancelTimeouts(tx: SqlClient, saga: string, key: string, names?: readonly string[]): Promise<void> {
  if (names && names.length === 0) return;
  await write(tx, saga, (b) => b.cancels, names ? names.map((name) => ({ key, name })) : [{ key, name: null }], writeCancels);
}

/*
 * The statements below reach their rows by key through `= ANY (ARRAY(SELECT ...))`: joined with
 * a parameter array of a batch's 250 keys instead, the planner hashed the whole table (a scan of
 * every pending instance and timeout, twice a batch: most of a batch's time with 100,000 pending).
 * Their rows come as one JSON document ($3), JSON values in it as JSON text: node-postgres
 * escapes a text array element by element in JavaScript, which cost more than the statement's
 * own work on the database; JSON.stringify is native.
 */
const INSTANCES_SQL = `UPDATE messaging.saga_instances i
    SET status = w.status, state = w.state::jsonb, early = w.early::jsonb, correlation_id = w.correlation_id, version = w.version, updated_at = clock_timestamp(),
        ended_at = CASE WHEN w.ended THEN clock_timestamp() ELSE i.ended_at END
   FROM json_to_recordset($3::json) AS w(k text, status text, state text, early text, correlation_id text, version int, ended bool)
  WHERE i.saga = $1 AND i.instance_key = ANY (ARRAY(SELECT unnest($2::text[]))) AND i.instance_key = w.k`;
const instanceParameters = (writes: readonly InstanceWrite[]) => [
  writes.map((w) => w.key),
  JSON.stringify(
    writes.map((w) => ({
      k: w.key,
      status: w.row.status,
      state: JSON.stringify(w.row.state),
      early: JSON.stringify(w.row.early),
      correlation_id: w.row.correlationId,
      version: w.row.version,
      ended: w.ended,
    })),
  ),
];

const HISTORY_SQL = `INSERT INTO messaging.saga_history (saga, instance_key, version, input, decision)
  SELECT $1, k, v, i::jsonb, d::jsonb FROM json_to_recordset($2::json) AS w(k text, v int, i text, d text)`;
const historyParameters = (writes: readonly HistoryWrite[]) => [
  JSON.stringify(writes.map((w) => ({ k: w.key, v: w.version, i: JSON.stringify(w.input), d: JSON.stringify(w.decision) }))),
];

const SCHEDULES_SQL = `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data)
  SELECT id, $1, k, n, to_timestamp(d / 1000.0), x::jsonb FROM json_to_recordset($2::json) AS t(id uuid, k text, n text, d float8, x text)
  ON CONFLICT (saga, instance_key, name) DO UPDATE SET id = excluded.id, due_at = excluded.due_at, data = excluded.data, attempts = 0, last_error = NULL`;
const scheduleParameters = (writes: readonly TimeoutWrite[]) => [
  JSON.stringify(writes.map((w) => ({ id: randomUUID(), k: w.key, n: w.name, d: w.dueAtMs, x: JSON.stringify(w.data) }))),
];

const CANCELS_SQL = `DELETE FROM messaging.saga_timeouts t USING json_to_recordset($3::json) AS c(k text, n text)
  WHERE t.saga = $1 AND t.instance_key = ANY (ARRAY(SELECT unnest($2::text[]))) AND t.instance_key = c.k AND (c.n IS NULL OR t.name = c.n)`;
const cancelParameters = (cancels: readonly TimeoutCancel[]) => [cancels.map((c) => c.key), JSON.stringify(cancels.map((c) => ({ k: c.key, n: c.name })))];

/** In the given order: the relay sends a key's messages in outbox order. */
const OUTBOX_SQL = `INSERT INTO messaging.outbox (event_id, topic, message_key, headers, payload)
  SELECT id, t, k, h::jsonb, p FROM ROWS FROM (json_to_recordset($2::json) AS (id uuid, t text, k text, h text, p text)) WITH ORDINALITY AS o(id, t, k, h, p, n) ORDER BY n`;
const outboxParameters = (outbox: OutboxColumns) => [
  JSON.stringify(outbox.ids.map((id, i) => ({ id, t: outbox.topics[i], k: outbox.keys[i], h: outbox.headers[i], p: outbox.payloads[i] }))),
];

async function writeInstances(tx: SqlClient, saga: string, writes: readonly InstanceWrite[]): Promise<void> {
  if (writes.length > 0) await tx.query(INSTANCES_SQL, [saga, ...instanceParameters(writes)]);
}

async function writeHistory(tx: SqlClient, saga: string, writes: readonly HistoryWrite[]): Promise<void> {
  if (writes.length > 0) await tx.query(HISTORY_SQL, [saga, ...historyParameters(writes)]);
}

async function writeSchedules(tx: SqlClient, saga: string, writes: readonly TimeoutWrite[]): Promise<void> {
  if (writes.length > 0) await tx.query(SCHEDULES_SQL, [saga, ...scheduleParameters(writes)]);
}

async function writeCancels(tx: SqlClient, saga: string, cancels: readonly TimeoutCancel[]): Promise<void> {
  if (cancels.length > 0) await tx.query(CANCELS_SQL, [saga, ...cancelParameters(cancels)]);
}

export interface DueTimeout {
  readonly id: string;
  readonly key: string;
  readonly name: string;
  readonly data: SagaJson;
  readonly attempts: number;
  /** When it was due (ms since the epoch): the firer measures its lateness. */
  readonly dueAtMs: number;
}

/**
 * Locks up to `limit` due timeouts of the saga, none of the instances in `skip`; others' locked
 * ones are skipped, not waited for. The bound is statement_timestamp(), not clock_timestamp(): a
 * volatile bound cannot be an index condition, and the scan would filter every pending timeout of
 * the saga on each call.
 */
export async function lockDueTimeouts(tx: SqlClient, saga: string, limit: number, skip: readonly string[] = []): Promise<DueTimeout[]> {
  const { rows } = await tx.query<{ id: string; instance_key: string; name: string; data: SagaJson; attempts: number; due: number }>(
    `SELECT id, instance_key, name, data, attempts, extract(epoch FROM due_at)::float8 AS due FROM messaging.saga_timeouts
      WHERE saga = $1 AND due_at <= statement_timestamp() AND instance_key <> ALL ($3::text[]) ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [saga, limit, skip],
  );
  return rows.map((r) => ({ id: r.id, key: r.instance_key, name: r.name, data: r.data, attempts: r.attempts, dueAtMs: r.due * 1000 }));
}

/**
 * How many of the earliest due timeouts a claim reads, per timeout it may take: those another
 * firing transaction holds are among them, and are skipped.
 */
const SEEN_PER_TAKEN = 3;

/** A due timeout taken by claimDueTimeouts. */
export interface ClaimedTimeout extends DueTimeout {
  /**
   * Fired in this transaction: its row is deleted and it is recorded in the inbox. Not fired when
   * a message's transaction holds its instance: fired by a later batch, on the state that leaves.
   */
  readonly firing: boolean;
  /** Recorded in the inbox now, not seen before. */
  readonly fresh: boolean;
  /** Its instance, locked; undefined when it has none (or is not firing). */
  readonly instance?: SagaInstanceRow;
}

/**
 * One statement (one round trip) that takes up to `limit` due timeouts of the saga to fire in
 * this transaction, none of the instances in `skip` (held by a message a moment ago). Of the earliest due ones (read in order from the (saga, due_at) index, so
 * pending ones are not read), the earliest of each instance only: a batch never holds a second
 * timeout of an instance, which another batch's step could cancel while this batch's step cancels
 * one the other holds (two batches waiting for each other). It locks them and their instances,
 * skipping what others hold; deletes those whose instance it holds or that have none, records them
 * in the inbox, and returns them with their instances. The earliest-of-each-instance choice is
 * made before locking and not as a filter of the ordered scan: the planner, unable to estimate
 * such a filter, sorted every due row to apply it. The chosen rows are found again by their ctid
 * (read in the same statement, so under the same snapshot), not by id: a TID scan reads their
 * pages directly, where 750 probes of the random-uuid primary key took 2 ms of an idle
 * database's time and about 10 ms of a busy one's, most of a claim. A row updated since the
 * snapshot is followed to its new version when locked, and its due time checked again.
 */
export async function claimDueTimeouts(tx: SqlClient, saga: string, limit: number, inboxTopic: string, skip: readonly string[] = []): Promise<ClaimedTimeout[]> {
  const { rows } = await tx.query<ClaimRow>(
    `WITH seen AS (
       SELECT ctid AS row_id, id, instance_key, due_at FROM messaging.saga_timeouts
        WHERE saga = $1 AND due_at <= statement_timestamp() AND instance_key <> ALL ($5::text[]) ORDER BY due_at LIMIT $4
     ),
     due AS (
       SELECT id, instance_key, name, data, attempts, due_at FROM messaging.saga_timeouts
        WHERE ctid = ANY (ARRAY(SELECT DISTINCT ON (instance_key) row_id FROM seen ORDER BY instance_key, due_at, id)) AND due_at <= statement_timestamp()
        ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ),
     free AS (
       SELECT ${INSTANCE_COLUMNS} FROM messaging.saga_instances
        WHERE saga = $1 AND instance_key = ANY (ARRAY(SELECT instance_key FROM due)) FOR UPDATE SKIP LOCKED
     ),
     -- Of those it could not lock, the ones that exist (held by a message) and not fired now.
     held AS (
       SELECT instance_key FROM messaging.saga_instances
        WHERE saga = $1 AND instance_key = ANY (ARRAY(SELECT instance_key FROM due WHERE instance_key NOT IN (SELECT instance_key FROM free)))
     ),
     judged AS (
       SELECT d.*, d.instance_key NOT IN (SELECT instance_key FROM held) AS firing FROM due d
     ),
     gone AS (DELETE FROM messaging.saga_timeouts WHERE id = ANY (ARRAY(SELECT id FROM judged WHERE firing))),
     recorded AS (
       INSERT INTO messaging.inbox (consumer_group, event_id, topic, partition, "offset")
       SELECT $1, id, $3, -1, 0 FROM judged WHERE firing ON CONFLICT DO NOTHING RETURNING event_id
     )
     -- Timeouts and instances as rows of their own, matched by key in the caller: joined here, the
     -- planner (which cannot estimate these parts) nested loops over them, 250 x 250 rows thrice.
     SELECT id, instance_key, name, data, attempts, extract(epoch FROM due_at)::float8 AS due, firing, id IN (SELECT event_id FROM recorded) AS fresh,
            NULL AS status, NULL::jsonb AS state, NULL::jsonb AS early, NULL AS correlation_id, NULL::int AS version
       FROM judged
     UNION ALL
     SELECT NULL, instance_key, NULL, NULL, NULL, NULL, NULL, NULL, status, state, early, correlation_id, version FROM free
     ORDER BY due NULLS FIRST`,
    [saga, limit, inboxTopic, limit * SEEN_PER_TAKEN, skip],
  );
  const instances = new Map<string, SagaInstanceRow>();
  const claimed: ClaimedTimeout[] = [];
  for (const r of rows) {
    if (r.id === null) instances.set(r.instance_key, instanceRow(r));
    else
      claimed.push({ id: r.id, key: r.instance_key, name: r.name, data: r.data, attempts: r.attempts, dueAtMs: r.due * 1000, firing: r.firing, fresh: r.fresh, instance: r.firing ? instances.get(r.instance_key) : undefined });
  }
  return claimed;
}

/** A row of the claim: a timeout (id set), or an instance it locked (id null). */
type ClaimRow = { id: string; instance_key: string; name: string; data: SagaJson; attempts: number; due: number; firing: boolean; fresh: boolean } | ({ id: null } & InstanceColumns);

export async function deleteTimeouts(tx: SqlClient, ids: readonly string[]): Promise<void> {
  await tx.query('DELETE FROM messaging.saga_timeouts WHERE id = ANY($1::uuid[])', [ids]);
}

/** A timeout whose handling failed: due again after the back-off, the attempt counted when it spent the budget. */
export async function retryTimeoutLater(tx: SqlClient, id: string, dueAtMs: number, counted: boolean, error: string): Promise<void> {
  await tx.query(
    `UPDATE messaging.saga_timeouts SET due_at = to_timestamp($2 / 1000.0), attempts = attempts + CASE WHEN $3 THEN 1 ELSE 0 END, last_error = $4 WHERE id = $1`,
    [id, dueAtMs, counted, error],
  );
}

/** The earliest due time of the saga's pending timeouts, in ms, if any; none of the instances in `skip`. */
export async function nextDueAt(client: SqlClient, saga: string, skip: readonly string[] = []): Promise<number | undefined> {
  const { rows } = await client.query<{ due: string | null }>(
    `SELECT (extract(epoch from min(due_at)) * 1000)::float8::text AS due FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key <> ALL ($2::text[])`,
    [saga, skip],
  );
  return rows[0]?.due ? Number(rows[0].due) : undefined;
}
