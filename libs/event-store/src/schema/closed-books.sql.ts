import { HOLD_BACK_FUNCTION_V1, ISOLATION_CHECK, READ_ALL_FUNCTION_V1 } from './appending-transactions.sql';

/**
 * Migration 1765000000004: closed books. PostgresEventStore.closeBooks moves a stream's events up
 * to its new opening summary out of event_store.events into event_store.archived_events, in the
 * transaction that appends the summary. A moved row keeps every column, its place in the global
 * order (transaction_id, global_position) included, so the global order is the union of the two
 * tables: read_all and hold_back below read both. One statement reads both tables with one
 * snapshot, and the move commits at once, so a reader sees each event in exactly one of them.
 */
const ARCHIVE_TABLE = `
  -- The closed books: events as they were in event_store.events, plus when they were moved.
  CREATE TABLE IF NOT EXISTS event_store.archived_events (
    global_position bigint      NOT NULL,
    transaction_id  xid8        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT archived_events_pkey PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT archived_events_event_id_key UNIQUE (event_id),
    CONSTRAINT archived_events_global_order_key UNIQUE (transaction_id, global_position)
  );
`;

/**
 * Both tables as one, for the global order: a UNION ALL of plain columns, which the planner turns
 * into a merge of the two (transaction_id, global_position) indexes, so a page still stops after
 * p_limit rows with no sort, and an empty archive costs one index probe.
 */
const GLOBAL_LOG = `(
      SELECT h.event_id, h.event_type, h.stream_id, h.stream_version, h.global_position, h.transaction_id,
             h.data, h.metadata, h.recorded_at
        FROM event_store.events h
      UNION ALL
      SELECT a.event_id, a.event_type, a.stream_id, a.stream_version, a.global_position, a.transaction_id,
             a.data, a.metadata, a.recorded_at
        FROM event_store.archived_events a
    )`;

/** event_store.read_all over both tables: the same horizon, frontier, held_back and page as READ_ALL_FUNCTION_V1. */
const READ_ALL_FUNCTION_V2 = `
  CREATE OR REPLACE FUNCTION event_store.read_all(p_after_tx xid8, p_after_pos bigint, p_limit integer, p_types text[] DEFAULT NULL)
  RETURNS TABLE (
    r_held_back boolean, r_frontier_tx xid8, r_frontier_pos bigint,
    r_event_id uuid, r_event_type text, r_stream_id text, r_stream_version bigint, r_global_position bigint,
    r_transaction_id xid8, r_data jsonb, r_metadata jsonb, r_recorded_at timestamptz
  ) LANGUAGE plpgsql AS $read$
  DECLARE
    v_horizon xid8;
  BEGIN
    ${ISOLATION_CHECK('event_store.read_all')}
    SELECT r.horizon INTO v_horizon FROM event_store.read_horizon() r;
    SELECT f.transaction_id, f.global_position INTO r_frontier_tx, r_frontier_pos
      FROM ${GLOBAL_LOG} f
     WHERE f.transaction_id < v_horizon
     ORDER BY f.transaction_id DESC, f.global_position DESC
     LIMIT 1;
    r_held_back := coalesce((SELECT max(h.transaction_id) FROM ${GLOBAL_LOG} h) >= v_horizon, false);
    RETURN NEXT;
    IF r_frontier_tx IS NULL THEN
      RETURN;
    END IF;
    RETURN QUERY
      SELECT NULL::boolean, NULL::xid8, NULL::bigint,
             e.event_id, e.event_type, e.stream_id, e.stream_version, e.global_position, e.transaction_id,
             e.data, e.metadata, e.recorded_at
        FROM ${GLOBAL_LOG} e
       WHERE (e.transaction_id, e.global_position) > (p_after_tx, p_after_pos)
         AND e.transaction_id < v_horizon
         AND (p_types IS NULL OR e.event_type = ANY (p_types))
       ORDER BY e.transaction_id, e.global_position
       LIMIT p_limit;
  END
  $read$;
`;

/** event_store.hold_back over both tables (an archived event can still wait behind a holder). */
const HOLD_BACK_FUNCTION_V2 = `
  CREATE OR REPLACE FUNCTION event_store.hold_back(
    OUT horizon xid8, OUT held_back_events bigint, OUT held_back_ms float8,
    OUT holder boolean, OUT holder_pid integer, OUT holder_age_ms float8
  ) LANGUAGE plpgsql AS $hold$
  BEGIN
    ${ISOLATION_CHECK('event_store.hold_back')}
    SELECT r.horizon, r.holder, r.holder_pid INTO horizon, holder, holder_pid FROM event_store.read_horizon() r;
    held_back_events := 0;
    IF (SELECT max(e.transaction_id) FROM ${GLOBAL_LOG} e) >= horizon THEN
      SELECT count(*), (extract(epoch FROM clock_timestamp() - min(e.recorded_at)) * 1000)::float8
        INTO held_back_events, held_back_ms
        FROM ${GLOBAL_LOG} e WHERE e.transaction_id >= horizon;
    END IF;
    IF holder_pid IS NOT NULL THEN
      SELECT (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8 INTO holder_age_ms
        FROM pg_catalog.pg_stat_activity a WHERE a.pid = holder_pid;
    END IF;
  END
  $hold$;
`;

export const CLOSED_BOOKS_UP = `${ARCHIVE_TABLE}${READ_ALL_FUNCTION_V2}${HOLD_BACK_FUNCTION_V2}`;

/** Puts archived events back into the hot table (same rows), then drops the archive. */
export const CLOSED_BOOKS_DOWN = `
  INSERT INTO event_store.events OVERRIDING SYSTEM VALUE
         (global_position, transaction_id, stream_id, stream_version, event_id, event_type, data, metadata, recorded_at)
  SELECT global_position, transaction_id, stream_id, stream_version, event_id, event_type, data, metadata, recorded_at
    FROM event_store.archived_events;
  ${READ_ALL_FUNCTION_V1}${HOLD_BACK_FUNCTION_V1}
  DROP TABLE IF EXISTS event_store.archived_events;
`;

/** The move closeBooks makes, in its transaction: the stream's events up to $2 into the archive. */
export const ARCHIVE_STREAM_SQL = `WITH moved AS (
    DELETE FROM event_store.events e WHERE e.stream_id = $1 AND e.stream_version <= $2
    RETURNING e.global_position, e.transaction_id, e.stream_id, e.stream_version, e.event_id, e.event_type, e.data, e.metadata, e.recorded_at
  )
  INSERT INTO event_store.archived_events (global_position, transaction_id, stream_id, stream_version, event_id, event_type, data, metadata, recorded_at)
  SELECT * FROM moved`;
