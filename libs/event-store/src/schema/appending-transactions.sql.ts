import { APPEND_CHANNEL, APPEND_FUNCTION_UP, STREAM_LOCK_CLASS } from './append-function.sql';

/**
 * The store numbers its appending transactions itself (sequence event_store.transaction_ids),
 * from 2^52 up: above every PostgreSQL xid stored by earlier versions (an xid8 would need a
 * million wraparounds to get there), and still an exact JavaScript number for 2^52 more.
 */
export const TRANSACTION_ID_BASE = '4503599627370496';

/**
 * Advisory lock classes (the two-int4 key space, so nothing shares them with bigint advisory
 * locks such as the outbox relay's) of "appending" registrations: a transaction that appends
 * holds one, shared, until it ends. Its key encodes a lower bound of the transaction's id,
 * as an offset from TRANSACTION_ID_BASE: (class + offset / 2^31, offset % 2^31). 65,536
 * classes cover 2^47 ids; right after STREAM_LOCK_CLASS, whose key space is separate.
 */
export const APPENDING_LOCK_CLASS = STREAM_LOCK_CLASS + 1;
export const APPENDING_LOCK_CLASSES = 65_536;

/**
 * The next id event_store.transaction_ids will hand out, read outside MVCC: pg_sequence_last_value
 * is the last one handed out (by any session, committed or not; NULL before the first).
 */
export const NEXT_ID = `coalesce(pg_sequence_last_value('event_store.transaction_ids'::regclass) + 1, ${TRANSACTION_ID_BASE})`;

export const ISOLATION_CHECK = (what: string) => `
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION '${what} needs READ COMMITTED, not %', current_setting('transaction_isolation')
        USING ERRCODE = '0A000';
    END IF;`;

/**
 * event_store.append_to_stream as of migration 1765000000002: as before (see APPEND_FUNCTION_UP
 * for the parameters and outcomes), except how a transaction gets its place in the global
 * order. Its first append registers (the shared advisory lock, on a lower bound of the id it
 * then takes) and takes the next id; the id is remembered in a transaction-local setting,
 * tagged with the transaction's xid, so its later appends reuse it. A savepoint rolled back
 * releases the lock and forgets the setting together, with the rows.
 * order_conflict: this transaction took its id (by appending elsewhere) before the stream's
 * last writer took its own.
 */
export const APPEND_FUNCTION_V2 = `
  CREATE OR REPLACE FUNCTION event_store.append_to_stream(
    p_stream_id text,
    p_expected  bigint,
    p_events    jsonb,
    p_notify    boolean DEFAULT false,
    p_check_ids boolean DEFAULT true,
    OUT outcome text,
    OUT new_version bigint,
    OUT positions bigint[],
    OUT txid xid8,
    OUT conflicting_id uuid
  ) LANGUAGE plpgsql AS $append$
  DECLARE
    v_count     integer := jsonb_array_length(p_events);
    v_version   bigint;
    v_last_xid  xid8;
    v_exists    boolean;
    v_mismatch  boolean;
    v_same      integer;
    v_offsets   integer;
    v_xid       text;
    v_mine      text;
    v_offset    bigint;
  BEGIN
    IF v_count IS NULL OR v_count = 0 THEN
      RAISE EXCEPTION 'event_store.append_to_stream needs a non-empty JSON array of events';
    END IF;

    -- A plain read below must see the latest commit, which only READ COMMITTED guarantees.
    ${ISOLATION_CHECK('event_store.append_to_stream')}

    -- Writers of one stream queue here and get in only after the previous writer ended:
    -- holding it, this transaction reads the stream's latest version, and an id it takes
    -- below is newer than the previous writer's. (Trying first is the same lock, but a simple
    -- expression for PL/pgSQL, cheaper than a PERFORM when nobody holds it.)
    IF NOT pg_try_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(p_stream_id)) THEN
      PERFORM pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(p_stream_id));
    END IF;
    SELECT ev.stream_version, ev.transaction_id INTO v_version, v_last_xid
      FROM event_store.events ev WHERE ev.stream_id = p_stream_id
     ORDER BY ev.stream_version DESC LIMIT 1;
    v_exists := FOUND;
    IF NOT v_exists THEN
      v_version := 0;
    END IF;

    v_mismatch := (p_expected = -2 AND NOT v_exists) OR (p_expected >= 0 AND v_version <> p_expected);

    -- A retried append finds its ids stored: the same stream, consecutive versions in the
    -- same order and the same content make it a replay; anything else reuses an id. Also
    -- checked without p_check_ids when the append is about to be refused: a retry carries
    -- the expected version of its first attempt, long outdated by now.
    IF (p_check_ids OR v_mismatch) AND EXISTS (
      SELECT 1 FROM event_store.events ev
       WHERE ev.event_id = ANY (ARRAY(SELECT (i.e->>'id')::uuid FROM jsonb_array_elements(p_events) AS i(e)))
    ) THEN
      SELECT count(*) FILTER (WHERE k.same),
             count(DISTINCT k.stream_version - k.ord) FILTER (WHERE k.same),
             max(k.stream_version) FILTER (WHERE k.same),
             array_agg(k.global_position ORDER BY k.ord) FILTER (WHERE k.same),
             min(k.transaction_id) FILTER (WHERE k.same),
             (array_agg(k.id ORDER BY NOT k.same DESC, k.ord) FILTER (WHERE k.known))[1]
        INTO v_same, v_offsets, new_version, positions, txid, conflicting_id
        FROM (
          SELECT i.ord, (i.e->>'id')::uuid AS id, ev.event_id IS NOT NULL AS known,
                 coalesce(ev.stream_id = p_stream_id AND ev.event_type = i.e->>'type'
                          AND ev.data = i.e->'data' AND ev.metadata = coalesce(i.e->'metadata', '{}'::jsonb), false) AS same,
                 ev.stream_version, ev.global_position, ev.transaction_id
            FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, ord)
            LEFT JOIN event_store.events ev ON ev.event_id = (i.e->>'id')::uuid
        ) k;
      IF v_same = v_count AND v_offsets = 1 THEN
        outcome := 'replayed';
        conflicting_id := NULL;
      ELSE
        outcome := 'id_conflict';
        new_version := NULL;
        positions := NULL;
        txid := NULL;
      END IF;
      RETURN;
    END IF;

    IF v_mismatch THEN
      outcome := 'conflict';
      new_version := v_version;
      RETURN;
    END IF;

    -- This transaction's id in the store: the one it took at its first append, or a new one.
    v_xid := pg_current_xact_id()::text;
    v_mine := current_setting('event_store.transaction', true);
    IF v_mine IS NOT NULL AND starts_with(v_mine, v_xid || ':') THEN
      txid := substr(v_mine, length(v_xid) + 2)::xid8;
      IF v_exists AND v_last_xid > txid THEN
        outcome := 'order_conflict';
        new_version := v_version;
        RETURN;
      END IF;
    ELSE
      -- Register first, on a lower bound of the id taken next (the next one to be handed
      -- out now), and only then take it: a reader that finds no registration below an id it
      -- passes knows the transaction that took it has ended.
      -- (Nobody takes these locks exclusively: the try always succeeds, as a simple expression.)
      v_offset := ${NEXT_ID} - ${TRANSACTION_ID_BASE};
      IF (v_offset >> 31) >= ${APPENDING_LOCK_CLASSES} THEN
        RAISE EXCEPTION 'event_store.transaction_ids is beyond the ids the appending locks can encode';
      END IF;
      IF NOT pg_try_advisory_xact_lock_shared(${APPENDING_LOCK_CLASS} + (v_offset >> 31)::integer, (v_offset & 2147483647)::integer) THEN
        PERFORM pg_advisory_xact_lock_shared(${APPENDING_LOCK_CLASS} + (v_offset >> 31)::integer, (v_offset & 2147483647)::integer);
      END IF;
      txid := nextval('event_store.transaction_ids')::text::xid8;
      v_mine := set_config('event_store.transaction', v_xid || ':' || txid::text, true);
    END IF;

    new_version := v_version + v_count;
    WITH inserted AS (
      INSERT INTO event_store.events (transaction_id, stream_id, stream_version, event_id, event_type, data, metadata)
      SELECT txid, p_stream_id, v_version + i.ord, (i.e->>'id')::uuid, i.e->>'type', i.e->'data',
             coalesce(i.e->'metadata', '{}'::jsonb)
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, ord)
       ORDER BY i.ord
      RETURNING global_position
    )
    SELECT array_agg(global_position ORDER BY global_position) INTO positions FROM inserted;

    IF p_notify THEN
      PERFORM pg_notify('${APPEND_CHANNEL}', '');
    END IF;
    outcome := 'appended';
  END
  $append$;
`;

/**
 * event_store.read_all as of migration 1765000000002 (exported so that a later migration's down can
 * restore it; the text is the migration's, unchanged).
 */
export const READ_ALL_FUNCTION_V1 = `  -- A page of the global order after (p_after_tx, p_after_pos), below the horizon, read in
  -- statements after the horizon's (so with newer snapshots: READ COMMITTED only). Every event
  -- below the horizon is visible to each of them, so they agree. The first row carries only
  -- held_back (committed events wait at or above the horizon: the greatest id, from the end of
  -- the index, whatever the statistics say) and frontier (the last event below the horizon: a
  -- short page may move its checkpoint there although a type filter left the tail out); the
  -- page's events follow, in order, without a join or a sort around them.
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
      FROM event_store.events f
     WHERE f.transaction_id < v_horizon
     ORDER BY f.transaction_id DESC, f.global_position DESC
     LIMIT 1;
    r_held_back := coalesce((SELECT max(h.transaction_id) FROM event_store.events h) >= v_horizon, false);
    RETURN NEXT;
    IF r_frontier_tx IS NULL THEN
      RETURN;
    END IF;
    RETURN QUERY
      SELECT NULL::boolean, NULL::xid8, NULL::bigint,
             e.event_id, e.event_type, e.stream_id, e.stream_version, e.global_position, e.transaction_id,
             e.data, e.metadata, e.recorded_at
        FROM event_store.events e
       WHERE (e.transaction_id, e.global_position) > (p_after_tx, p_after_pos)
         AND e.transaction_id < v_horizon
         AND (p_types IS NULL OR e.event_type = ANY (p_types))
       ORDER BY e.transaction_id, e.global_position
       LIMIT p_limit;
  END
  $read$;

`;

/** event_store.hold_back as of migration 1765000000002 (see READ_ALL_FUNCTION_V1). */
export const HOLD_BACK_FUNCTION_V1 = `  -- What holds readers back: the horizon, the committed events at or above it (and since when
  -- the oldest waits), and the registered transaction that sets it, if one does.
  CREATE OR REPLACE FUNCTION event_store.hold_back(
    OUT horizon xid8, OUT held_back_events bigint, OUT held_back_ms float8,
    OUT holder boolean, OUT holder_pid integer, OUT holder_age_ms float8
  ) LANGUAGE plpgsql AS $hold$
  BEGIN
    ${ISOLATION_CHECK('event_store.hold_back')}
    SELECT r.horizon, r.holder, r.holder_pid INTO horizon, holder, holder_pid FROM event_store.read_horizon() r;
    held_back_events := 0;
    IF (SELECT max(e.transaction_id) FROM event_store.events e) >= horizon THEN
      SELECT count(*), (extract(epoch FROM clock_timestamp() - min(e.recorded_at)) * 1000)::float8
        INTO held_back_events, held_back_ms
        FROM event_store.events e WHERE e.transaction_id >= horizon;
    END IF;
    IF holder_pid IS NOT NULL THEN
      SELECT (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8 INTO holder_age_ms
        FROM pg_catalog.pg_stat_activity a WHERE a.pid = holder_pid;
    END IF;
  END
  $hold$;

`;

/**
 * Migration 1765000000002: readers wait only for transactions that can still append to this
 * store. Until now an event's place in the global order was its transaction's xid, and readers
 * stopped below the cluster-wide snapshot xmin: a transaction open anywhere on the server (in
 * another database, or one here that appends nothing) held every reader back.
 *
 * Now a transaction's place is a number this store hands out when the transaction first
 * appends (kept in the same transaction_id column, type xid8, so checkpoints keep their type).
 * Before taking it, the appender registers: a shared advisory lock, held to its end, whose key
 * is a lower bound of the number it is about to take. A reader (event_store.read_horizon)
 * reads the next number to be handed out, N, then the registrations held in this database;
 * the horizon is the least of N and their bounds. Then, in a later statement (a newer
 * snapshot), it reads the events below the horizon. Why nothing below it can ever appear
 * later: see libs/event-store/README.md ("The global order").
 *
 * Existing rows keep their xids, all far below TRANSACTION_ID_BASE: no backfill, they sort
 * before every new event in the same order as before, and stored checkpoints stay valid. The
 * ACCESS EXCLUSIVE lock waits for appends in flight (so every old row has committed or rolled
 * back before the new readers run) and holds new ones until this commits. A call of the old
 * function that is already running (waiting for that lock) would still insert its xid: the
 * CHECK (NOT VALID: enforced for new rows only) refuses it, so no row can arrive unregistered
 * below a horizon. Readers of the old code never reach the new ids: they stall, they do not skip.
 */
export const APPENDING_TRANSACTIONS_UP = `
  LOCK TABLE event_store.events IN ACCESS EXCLUSIVE MODE;

  -- CACHE 1 (each nextval is visible in last_value at once) and NO CYCLE are what the
  -- horizon relies on: do not alter them, nor setval it backwards.
  CREATE SEQUENCE IF NOT EXISTS event_store.transaction_ids AS bigint
    MINVALUE ${TRANSACTION_ID_BASE} START WITH ${TRANSACTION_ID_BASE} CACHE 1 NO CYCLE;

  ALTER TABLE event_store.events DROP CONSTRAINT IF EXISTS events_transaction_id_from_store;
  ALTER TABLE event_store.events ADD CONSTRAINT events_transaction_id_from_store
    CHECK (transaction_id >= '${TRANSACTION_ID_BASE}'::xid8) NOT VALID;

  -- The horizon: every event below it belongs to a transaction that has ended (committed or
  -- rolled back) before this function's second statement. holder: a registration sets it
  -- (holder_pid is that transaction's backend; NULL for a prepared transaction).
  CREATE OR REPLACE FUNCTION event_store.read_horizon(OUT horizon xid8, OUT holder boolean, OUT holder_pid integer)
  LANGUAGE plpgsql AS $horizon$
  DECLARE
    v_next   bigint;
    v_bound  bigint;
    v_pid    integer;
  BEGIN
    -- 1. The next id to be handed out: every smaller one was handed out before this read.
    v_next := ${NEXT_ID};
    -- 2. Then the registrations held now (pg_locks reads the whole lock table at once).
    SELECT ${TRANSACTION_ID_BASE} + ((l.classid::bigint - ${APPENDING_LOCK_CLASS}) << 31) + l.objid::bigint, l.pid
      INTO v_bound, v_pid
      FROM pg_catalog.pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 2
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
       AND l.classid::bigint BETWEEN ${APPENDING_LOCK_CLASS} AND ${APPENDING_LOCK_CLASS + APPENDING_LOCK_CLASSES - 1}
     ORDER BY 1
     LIMIT 1;
    holder := v_bound < v_next;
    IF holder THEN
      horizon := v_bound::text::xid8;
      holder_pid := v_pid;
    ELSE
      holder := false;
      horizon := v_next::text::xid8;
    END IF;
  END
  $horizon$;

${READ_ALL_FUNCTION_V1}${HOLD_BACK_FUNCTION_V1}  ${APPEND_FUNCTION_V2}
`;

/** Reverts to xid order. Events appended meanwhile keep their store ids, which that order's readers never reach. */
export const APPENDING_TRANSACTIONS_DOWN = `
  DROP FUNCTION IF EXISTS event_store.hold_back();
  DROP FUNCTION IF EXISTS event_store.read_all(xid8, bigint, integer, text[]);
  DROP FUNCTION IF EXISTS event_store.read_horizon();
  ${APPEND_FUNCTION_UP}
  ALTER TABLE event_store.events DROP CONSTRAINT IF EXISTS events_transaction_id_from_store;
  DROP SEQUENCE IF EXISTS event_store.transaction_ids;
`;
