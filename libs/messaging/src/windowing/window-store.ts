import type { ReceivedEnvelope } from '../envelope/envelope';
import { sqlLiteral, type SqlClient } from '@platform/core';

/** Identity of one window of one consumer group. */
export interface WindowId {
  readonly key: string;
  readonly start: number;
}

export const windowIdString = (id: WindowId): string => `${id.start}\u0000${id.key}`;

export interface StagedEvent {
  readonly envelope: ReceivedEnvelope;
  readonly eventTime: number;
  readonly windows: readonly (WindowId & { end: number; closeAt: number })[];
}

export interface StagingResult {
  /** Windows still open after staging, with their (possibly extended) close time. */
  readonly open: Map<string, { id: WindowId; closeAt: number }>;
  /** For redelivered events: the windows they were staged in before. */
  readonly staged: Map<string, WindowId[]>;
  /** Events already staged before (a redelivery): no new effect. */
  readonly duplicates: Set<string>;
  /** (event, window) pairs whose window was already handled without the event. */
  readonly late: { eventId: string; window: WindowId & { end: number } }[];
}

export interface DueWindow extends WindowId {
  readonly end: number;
  readonly closeAt: number;
  /** Attempts that failed so far (shared by every instance, kept across restarts). */
  readonly attempts: number;
}

export type StoredEnvelope = Omit<ReceivedEnvelope, 'event' | 'payload'> & { payload: unknown };

/** Advisory-lock class of "this event is being staged" (two-int form: clear of every bigint lock). */
const STAGING_LOCK_CLASS = 1_464_421_956;

/** The group's prune mark in SQL ($1: the group): windows closing at or before it may have been handled and pruned. */
const PRUNE_MARK = `coalesce((SELECT m.pruned_through FROM messaging.window_prune_marks m WHERE m.consumer_group = $1), '-infinity')`;

/**
 * Stages a batch of events into their windows in the caller's transaction: opens windows (or
 * extends their close time), records each event in each open window once, and reports the
 * events whose window was already handled.
 */
export async function stageEvents(tx: SqlClient, group: string, batch: readonly StagedEvent[]): Promise<StagingResult> {
  // Two members may stage one event at once (after a rebalance the old owner is still at it):
  // with processing time they would pick different windows and both commit, and the event would
  // be counted twice. A transaction lock per event id (taken in one order, so no deadlock) makes
  // the second wait, and its lookup below then finds the event staged by the first.
  await tx.query(
    `SELECT pg_advisory_xact_lock(${STAGING_LOCK_CLASS}, h) FROM (SELECT DISTINCT hashtext($1 || ':' || id::text) AS h FROM unnest($2::uuid[]) AS id ORDER BY 1) x`,
    [group, batch.map((e) => e.envelope.id)],
  );
  // Events staged before (a redelivery after a crash or rebalance) keep the windows they are in,
  // even for processing-time windows, whose assignment would differ today.
  const { rows: existing } = await tx.query<{ event_id: string; window_key: string; start_ms: string; close_ms: string; closed: boolean }>(
    // Driven by the ids, one index lookup each (OFFSET 0 keeps the planner from flattening it):
    // with statistics taken while the tables were small, a join would loop over every window
    // of the group, and this runs for every fetched batch (it was 10 ms a batch, and growing).
    `SELECT x.id::text AS event_id, e.window_key, (extract(epoch from e.window_start) * 1000)::float8::text AS start_ms,
            (extract(epoch from w.close_at) * 1000)::float8::text AS close_ms, w.closed_at IS NOT NULL AS closed
       FROM unnest($2::uuid[]) AS x(id)
      CROSS JOIN LATERAL (SELECT e.window_key, e.window_start FROM messaging.window_events e
                           WHERE e.consumer_group = $1 AND e.event_id = x.id OFFSET 0) e
      CROSS JOIN LATERAL (SELECT w.close_at, w.closed_at FROM messaging.windows w
                           WHERE w.consumer_group = $1 AND w.window_key = e.window_key AND w.window_start = e.window_start OFFSET 0) w`,
    [group, batch.map((e) => e.envelope.id)],
  );
  const open = new Map<string, { id: WindowId; closeAt: number }>();
  const staged = new Map<string, WindowId[]>();
  for (const row of existing) {
    const id = { key: row.window_key, start: Math.round(Number(row.start_ms)) };
    staged.set(row.event_id, [...(staged.get(row.event_id) ?? []), id]);
    if (!row.closed) open.set(windowIdString(id), { id, closeAt: Number(row.close_ms) });
  }
  const events = batch.filter((e) => !staged.has(e.envelope.id));
  const duplicates = new Set(staged.keys());

  const windows = new Map<string, { key: string; start: number; end: number; closeAt: number }>();
  for (const e of events) {
    for (const w of e.windows) {
      const id = windowIdString(w);
      const known = windows.get(id);
      if (!known || known.closeAt < w.closeAt) windows.set(id, { key: w.key, start: w.start, end: w.end, closeAt: w.closeAt });
    }
  }
  const list = [...windows.values()];
  // Sorted, so concurrent stagers lock window rows in the same order and cannot deadlock.
  list.sort((a, b) => a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const params = [group, list.map((w) => w.key), list.map((w) => w.start), list.map((w) => w.end), list.map((w) => w.closeAt)];
  // Open what is new, without touching existing rows: stagers of other partitions share them.
  // Windows as old as pruned ones are not opened again: their events are late.
  await tx.query(
    `INSERT INTO messaging.windows (consumer_group, window_key, window_start, window_end, close_at)
     SELECT $1, k, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), to_timestamp(c / 1000.0)
       FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[]) AS w(k, s, e, c)
      WHERE to_timestamp(c / 1000.0) > ${PRUNE_MARK}
     ON CONFLICT (consumer_group, window_key, window_start) DO NOTHING`,
    params,
  );
  // A shared lock: stagers do not wait for each other, but a window being handled (locked for
  // update by the closer) is waited for and then seen closed; a window we hold is skipped by
  // the closer until we commit, and then handled with our events in it. The prune mark is read
  // again: a prune that committed during the INSERT above may have let it reopen a pruned
  // window, which stays empty here and is closed without a handler call.
  const { rows: openRows } = await tx.query<{ window_key: string; start_ms: string; close_ms: string }>(
    `SELECT w.window_key, (extract(epoch from w.window_start) * 1000)::float8::text AS start_ms,
            (extract(epoch from w.close_at) * 1000)::float8::text AS close_ms
       FROM messaging.windows w
       JOIN unnest($2::text[], $3::float8[], $4::float8[], $5::float8[]) AS x(k, s, e, c)
         ON w.window_key = x.k AND w.window_start = to_timestamp(x.s / 1000.0)
      WHERE w.consumer_group = $1 AND w.closed_at IS NULL AND w.close_at > ${PRUNE_MARK}
      ORDER BY w.window_start, w.window_key
        FOR SHARE OF w`,
    params,
  );
  const newlyOpen = new Set<string>();
  for (const row of openRows) {
    const id = { key: row.window_key, start: Math.round(Number(row.start_ms)) };
    open.set(windowIdString(id), { id, closeAt: Number(row.close_ms) });
    newlyOpen.add(windowIdString(id));
  }

  const toStage: { e: StagedEvent; w: WindowId }[] = [];
  const late: StagingResult['late'] = [];
  for (const e of events) {
    for (const w of e.windows) {
      if (newlyOpen.has(windowIdString(w))) toStage.push({ e, w });
      else late.push({ eventId: e.envelope.id, window: w });
    }
  }
  if (toStage.length > 0) {
    await tx.query(
      `INSERT INTO messaging.window_events
         (consumer_group, window_key, window_start, event_id, event_time, topic, partition, "offset", message_key, envelope)
       SELECT $1, k, to_timestamp(s / 1000.0), id, to_timestamp(t / 1000.0), tp, p, o, mk, env
         FROM unnest($2::text[], $3::float8[], $4::uuid[], $5::float8[], $6::text[], $7::int[], $8::bigint[], $9::text[], $10::jsonb[])
           AS x(k, s, id, t, tp, p, o, mk, env)
       ON CONFLICT DO NOTHING`,
      [
        group,
        toStage.map((x) => x.w.key),
        toStage.map((x) => x.w.start),
        toStage.map((x) => x.e.envelope.id),
        toStage.map((x) => x.e.eventTime),
        toStage.map((x) => x.e.envelope.topic),
        toStage.map((x) => x.e.envelope.partition),
        toStage.map((x) => x.e.envelope.offset),
        toStage.map((x) => x.e.envelope.key),
        toStage.map((x) => JSON.stringify(storable(x.e.envelope))),
      ],
    );
  }
  return { open, staged, duplicates, late };
}

function storable(envelope: ReceivedEnvelope): StoredEnvelope {
  const { event: _event, ...rest } = envelope;
  return rest;
}

/**
 * A window row of group `group` is due at `nowMs` (SQL expressions): unhandled, past its close
 * time and, when the boolean `gate` is true (event time), passed by every partition's watermark.
 */
const isDue = (group: string, nowMs: string, gate: string) => `consumer_group = ${group} AND closed_at IS NULL AND close_at <= to_timestamp(${nowMs} / 1000.0)
        AND (retry_at IS NULL OR retry_at <= to_timestamp(${nowMs} / 1000.0))
        AND (NOT ${gate} OR close_at <= (SELECT coalesce(min(watermark), 'infinity') FROM messaging.partition_watermarks WHERE consumer_group = ${group}))`;

export type DueWindowRow = { window_key: string; start_ms: string; end_ms: string; close_ms: string; attempts: number };

/**
 * The statement that locks up to `limit` due, unhandled windows of the group: due by the clock
 * and, for event-time windows, passed by every partition's watermark. Windows locked elsewhere
 * (another instance, or a stager still writing into them) are skipped, not waited for. Its values
 * are written in: it opens the closing transaction with its BEGIN (withOpenedTransaction), and
 * `dueWindows` reads its rows.
 */
export function lockDueWindowsStatement(group: string, nowMs: number, limit: number, gateOnWatermarks: boolean): string {
  if (!Number.isFinite(nowMs) || !Number.isSafeInteger(limit)) throw new TypeError(`lockDueWindowsStatement: bad time ${nowMs} or limit ${limit}`);
  return `SELECT window_key, (extract(epoch from window_start) * 1000)::float8::text AS start_ms,
            (extract(epoch from window_end) * 1000)::float8::text AS end_ms, (extract(epoch from close_at) * 1000)::float8::text AS close_ms,
            attempts
       FROM messaging.windows
      WHERE ${isDue(sqlLiteral(group), String(nowMs), String(gateOnWatermarks === true))}
      ORDER BY close_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`;
}

/** The windows the lockDueWindowsStatement locked. */
export function dueWindows(rows: readonly DueWindowRow[]): DueWindow[] {
  return rows.map((row) => ({
    key: row.window_key,
    start: Math.round(Number(row.start_ms)),
    end: Math.round(Number(row.end_ms)),
    closeAt: Number(row.close_ms),
    attempts: row.attempts,
  }));
}

/**
 * Marks windows locked by `lockDueWindowsStatement` handled and returns their staged events in order, in
 * one statement. It must be a statement of its own, after the lock: its snapshot then holds
 * every event a stager committed before the lock, and no stager can add one after it (they
 * wait for the lock, then find the window closed). The mark commits with the handler's result
 * or rolls back with it; a window whose handler fails under a savepoint is reopened with
 * `reopenWindows`.
 */
export async function closeAndLoadWindows(tx: SqlClient, group: string, windows: readonly DueWindow[]): Promise<{ window: DueWindow; events: StoredEnvelope[] }[]> {
  if (windows.length === 0) return [];
  const { rows } = await tx.query<{ window_key: string; start_ms: string; envelope: StoredEnvelope }>(
    `WITH closed AS (
       UPDATE messaging.windows w
          SET closed_at = clock_timestamp(), failed = false,
              event_count = (SELECT count(*) FROM messaging.window_events e
                              WHERE e.consumer_group = $1 AND e.window_key = w.window_key AND e.window_start = w.window_start)
         FROM unnest($2::text[], $3::float8[]) AS x(k, s)
        WHERE w.consumer_group = $1 AND w.window_key = x.k AND w.window_start = to_timestamp(x.s / 1000.0)
       RETURNING w.window_key, w.window_start)
     SELECT c.window_key, (extract(epoch from c.window_start) * 1000)::float8::text AS start_ms, e.envelope
       FROM closed c
       JOIN messaging.window_events e ON e.consumer_group = $1 AND e.window_key = c.window_key AND e.window_start = c.window_start
      ORDER BY e.event_time, e.partition, e."offset"`,
    [group, windows.map((w) => w.key), windows.map((w) => w.start)],
  );
  const byWindow = new Map(windows.map((window) => [windowIdString(window), { window, events: [] as StoredEnvelope[] }]));
  for (const row of rows) byWindow.get(windowIdString({ key: row.window_key, start: Math.round(Number(row.start_ms)) }))?.events.push(row.envelope);
  return [...byWindow.values()];
}

/**
 * Undoes `closeAndLoadWindows` for windows whose handler failed (still locked by the caller's
 * transaction): open again, not due before `retryAtMs`, the attempt counted when it spent the budget.
 */
export async function retryWindowsLater(
  tx: SqlClient,
  group: string,
  windows: readonly { id: WindowId; retryAtMs: number; counted: boolean; error: string }[],
): Promise<void> {
  if (windows.length === 0) return;
  await tx.query(
    `UPDATE messaging.windows w
        SET closed_at = NULL, event_count = NULL, attempts = w.attempts + CASE WHEN x.counted THEN 1 ELSE 0 END,
            retry_at = to_timestamp(x.r / 1000.0), last_error = x.e
       FROM unnest($2::text[], $3::float8[], $4::float8[], $5::bool[], $6::text[]) AS x(k, s, r, counted, e)
      WHERE w.consumer_group = $1 AND w.window_key = x.k AND w.window_start = to_timestamp(x.s / 1000.0)`,
    [group, windows.map((w) => w.id.key), windows.map((w) => w.id.start), windows.map((w) => w.retryAtMs), windows.map((w) => w.counted), windows.map((w) => w.error)],
  );
}

/** Marks windows closed by `closeAndLoadWindows` as given up on: their events were dead-lettered in the same transaction. */
export async function markWindowsDeadLettered(tx: SqlClient, group: string, windows: readonly { id: WindowId; attempts: number; error: string }[]): Promise<void> {
  if (windows.length === 0) return;
  await tx.query(
    `UPDATE messaging.windows w SET failed = true, attempts = x.a, retry_at = NULL, last_error = x.e
       FROM unnest($2::text[], $3::float8[], $4::int[], $5::text[]) AS x(k, s, a, e)
      WHERE w.consumer_group = $1 AND w.window_key = x.k AND w.window_start = to_timestamp(x.s / 1000.0)`,
    [group, windows.map((w) => w.id.key), windows.map((w) => w.id.start), windows.map((w) => w.attempts), windows.map((w) => w.error)],
  );
}

/** How many windows are due (as lockDueWindowsStatement means it), locked or not. */
export async function countDueWindows(client: SqlClient, group: string, nowMs: number, gateOnWatermarks: boolean): Promise<number> {
  const { rows } = await client.query<{ due: number }>(
    `SELECT count(*)::int AS due FROM messaging.windows
      WHERE ${isDue('$1', '$2', '$3')}`,
    [group, nowMs, gateOnWatermarks],
  );
  return rows[0]?.due ?? 0;
}

/** Which of the given windows are closed already (for instance by another instance). */
export async function closedAmong(client: SqlClient, group: string, ids: readonly WindowId[]): Promise<WindowId[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<{ window_key: string; start_ms: string }>(
    `SELECT w.window_key, (extract(epoch from w.window_start) * 1000)::float8::text AS start_ms
       FROM messaging.windows w
       JOIN unnest($2::text[], $3::float8[]) AS x(k, s) ON w.window_key = x.k AND w.window_start = to_timestamp(x.s / 1000.0)
      WHERE w.consumer_group = $1 AND w.closed_at IS NOT NULL`,
    [group, ids.map((i) => i.key), ids.map((i) => i.start)],
  );
  return rows.map((r) => ({ key: r.window_key, start: Math.round(Number(r.start_ms)) }));
}

/** Records, per partition, that every event produced before `watermark` has been staged. */
export async function saveWatermarks(client: SqlClient, group: string, marks: readonly { topic: string; partition: number; watermark: number }[]): Promise<void> {
  if (marks.length === 0) return;
  await client.query(
    `INSERT INTO messaging.partition_watermarks (consumer_group, topic, partition, watermark)
     SELECT $1, t, p, to_timestamp(w / 1000.0) FROM unnest($2::text[], $3::int[], $4::float8[]) AS x(t, p, w)
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE
        SET watermark = GREATEST(messaging.partition_watermarks.watermark, EXCLUDED.watermark), updated_at = clock_timestamp()`,
    [group, marks.map((m) => m.topic), marks.map((m) => m.partition), marks.map((m) => m.watermark)],
  );
}

/**
 * Deletes the staged events of windows handled before `handledBeforeMs`, a batch at a time.
 * They are kept for a while after their window so a redelivery (a crash between the window's
 * commit and its offsets' commit) is recognised as already counted, not as late. The window
 * rows themselves stay: they are the idempotency records.
 */
export async function pruneStagedEvents(client: SqlClient, group: string, handledBeforeMs: number, batch: number): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM messaging.window_events e
      WHERE e.ctid = ANY (ARRAY(
        SELECT x.ctid FROM messaging.window_events x
          JOIN messaging.windows w USING (consumer_group, window_key, window_start)
         WHERE x.consumer_group = $1 AND w.closed_at < to_timestamp($2 / 1000.0)
         LIMIT $3))`,
    [group, handledBeforeMs, batch],
  );
  return rowCount ?? 0;
}

/**
 * Deletes windows handled before `handledBeforeMs` whose staged events are gone, a batch at a
 * time, and moves the group's prune mark past them in the same statement, so no stager can
 * open one of them again unnoticed.
 */
export async function pruneHandledWindows(client: SqlClient, group: string, handledBeforeMs: number, batch: number): Promise<number> {
  const { rows } = await client.query<{ pruned: number }>(
    `WITH gone AS (
       DELETE FROM messaging.windows w
        WHERE w.ctid = ANY (ARRAY(
          SELECT x.ctid FROM messaging.windows x
           WHERE x.consumer_group = $1 AND x.closed_at < to_timestamp($2 / 1000.0)
             AND NOT EXISTS (SELECT 1 FROM messaging.window_events e
                              WHERE e.consumer_group = x.consumer_group AND e.window_key = x.window_key AND e.window_start = x.window_start)
           LIMIT $3))
       RETURNING w.close_at),
     marked AS (
       INSERT INTO messaging.window_prune_marks (consumer_group, pruned_through)
       SELECT $1, max(close_at) FROM gone HAVING count(*) > 0
       ON CONFLICT (consumer_group) DO UPDATE SET pruned_through = GREATEST(messaging.window_prune_marks.pruned_through, EXCLUDED.pruned_through))
     SELECT count(*)::int AS pruned FROM gone`,
    [group, handledBeforeMs, batch],
  );
  return rows[0]?.pruned ?? 0;
}
