import type { ReceivedEnvelope } from '../envelope/envelope';
import type { SqlClient } from '../sql/sql-client';

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
  /** Events already staged before (a redelivery): no new effect. */
  readonly duplicates: Set<string>;
  /** (event, window) pairs whose window was already handled without the event. */
  readonly late: { eventId: string; window: WindowId & { end: number } }[];
}

export interface DueWindow extends WindowId {
  readonly end: number;
  readonly closeAt: number;
}

type StoredEnvelope = Omit<ReceivedEnvelope, 'event' | 'payload'> & { payload: unknown };

/**
 * Stages a batch of events into their windows in the caller's transaction: opens windows (or
 * extends their close time), records each event in each open window once, and reports the
 * events whose window was already handled.
 */
export async function stageEvents(tx: SqlClient, group: string, events: readonly StagedEvent[]): Promise<StagingResult> {
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
  const { rows: openRows } = await tx.query<{ window_key: string; start_ms: string; close_ms: string }>(
    `INSERT INTO messaging.windows (consumer_group, window_key, window_start, window_end, close_at)
     SELECT $1, k, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), to_timestamp(c / 1000.0)
       FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[]) AS w(k, s, e, c)
     ON CONFLICT (consumer_group, window_key, window_start) DO UPDATE
        SET close_at = GREATEST(messaging.windows.close_at, EXCLUDED.close_at)
      WHERE messaging.windows.closed_at IS NULL
     RETURNING window_key, (extract(epoch from window_start) * 1000)::float8::text AS start_ms,
               (extract(epoch from close_at) * 1000)::float8::text AS close_ms`,
    [group, list.map((w) => w.key), list.map((w) => w.start), list.map((w) => w.end), list.map((w) => w.closeAt)],
  );
  const open = new Map<string, { id: WindowId; closeAt: number }>();
  for (const row of openRows) {
    const id = { key: row.window_key, start: Math.round(Number(row.start_ms)) };
    open.set(windowIdString(id), { id, closeAt: Number(row.close_ms) });
  }

  const staged: { e: StagedEvent; w: WindowId }[] = [];
  const closedPairs: { e: StagedEvent; w: WindowId & { end: number } }[] = [];
  for (const e of events) {
    for (const w of e.windows) (open.has(windowIdString(w)) ? staged : closedPairs).push({ e, w });
  }
  const inserted = new Set<string>();
  if (staged.length > 0) {
    const { rows } = await tx.query<{ event_id: string }>(
      `INSERT INTO messaging.window_events
         (consumer_group, window_key, window_start, event_id, event_time, topic, partition, "offset", message_key, envelope)
       SELECT $1, k, to_timestamp(s / 1000.0), id, to_timestamp(t / 1000.0), tp, p, o, mk, env
         FROM unnest($2::text[], $3::float8[], $4::uuid[], $5::float8[], $6::text[], $7::int[], $8::bigint[], $9::text[], $10::jsonb[])
           AS x(k, s, id, t, tp, p, o, mk, env)
       ON CONFLICT DO NOTHING
       RETURNING event_id::text`,
      [
        group,
        staged.map((x) => x.w.key),
        staged.map((x) => x.w.start),
        staged.map((x) => x.e.envelope.id),
        staged.map((x) => x.e.eventTime),
        staged.map((x) => x.e.envelope.topic),
        staged.map((x) => x.e.envelope.partition),
        staged.map((x) => x.e.envelope.offset),
        staged.map((x) => x.e.envelope.key),
        staged.map((x) => JSON.stringify(storable(x.e.envelope))),
      ],
    );
    for (const row of rows) inserted.add(row.event_id);
  }

  // An event whose window is closed is late, unless it is in that window already (redelivered).
  const late: StagingResult['late'] = [];
  if (closedPairs.length > 0) {
    const { rows } = await tx.query<{ event_id: string; window_key: string; start_ms: string }>(
      `SELECT event_id::text, window_key, (extract(epoch from window_start) * 1000)::float8::text AS start_ms
         FROM messaging.window_events WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])`,
      [group, [...new Set(closedPairs.map((x) => x.e.envelope.id))]],
    );
    const included = new Set(rows.map((r) => `${r.event_id}\u0000${windowIdString({ key: r.window_key, start: Math.round(Number(r.start_ms)) })}`));
    for (const { e, w } of closedPairs) {
      if (!included.has(`${e.envelope.id}\u0000${windowIdString(w)}`)) late.push({ eventId: e.envelope.id, window: w });
    }
  }
  const lateIds = new Set(late.map((l) => l.eventId));
  const duplicates = new Set(events.map((e) => e.envelope.id).filter((id) => !inserted.has(id) && !lateIds.has(id)));
  return { open, duplicates, late };
}

function storable(envelope: ReceivedEnvelope): StoredEnvelope {
  const { event: _event, ...rest } = envelope;
  return rest;
}

/** Locks one due, unhandled window of the group (others may be locked by other instances). */
export async function lockDueWindow(tx: SqlClient, group: string, nowMs: number, skip: readonly WindowId[] = []): Promise<DueWindow | undefined> {
  const { rows } = await tx.query<{ window_key: string; start_ms: string; end_ms: string; close_ms: string }>(
    `SELECT window_key, (extract(epoch from window_start) * 1000)::float8::text AS start_ms,
            (extract(epoch from window_end) * 1000)::float8::text AS end_ms, (extract(epoch from close_at) * 1000)::float8::text AS close_ms
       FROM messaging.windows
      WHERE consumer_group = $1 AND closed_at IS NULL AND close_at <= to_timestamp($2 / 1000.0)
        AND NOT EXISTS (SELECT 1 FROM unnest($3::text[], $4::float8[]) AS x(k, s)
                         WHERE x.k = window_key AND to_timestamp(x.s / 1000.0) = window_start)
      ORDER BY close_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED`,
    [group, nowMs, skip.map((w) => w.key), skip.map((w) => w.start)],
  );
  const row = rows[0];
  return row && { key: row.window_key, start: Math.round(Number(row.start_ms)), end: Math.round(Number(row.end_ms)), closeAt: Number(row.close_ms) };
}

export async function windowEvents(tx: SqlClient, group: string, id: WindowId): Promise<StoredEnvelope[]> {
  const { rows } = await tx.query<{ envelope: StoredEnvelope }>(
    `SELECT envelope FROM messaging.window_events
      WHERE consumer_group = $1 AND window_key = $2 AND window_start = to_timestamp($3 / 1000.0)
      ORDER BY event_time, partition, "offset"`,
    [group, id.key, id.start],
  );
  return rows.map((r) => r.envelope);
}

export async function markWindowClosed(tx: SqlClient, group: string, id: WindowId, eventCount: number, failed: boolean): Promise<void> {
  await tx.query(
    `UPDATE messaging.windows SET closed_at = clock_timestamp(), event_count = $4, failed = $5
      WHERE consumer_group = $1 AND window_key = $2 AND window_start = to_timestamp($3 / 1000.0)`,
    [group, id.key, id.start, eventCount, failed],
  );
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
