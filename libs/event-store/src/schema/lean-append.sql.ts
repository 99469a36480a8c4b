import { APPEND_CHANNEL, STREAM_LOCK_CLASS } from './append-function.sql';
import { APPEND_FUNCTION_V2, APPENDING_LOCK_CLASS, APPENDING_LOCK_CLASSES, NEXT_ID, TRANSACTION_ID_BASE } from './appending-transactions.sql';

/**
 * event_store.append_to_stream as of migration 1765000000003: the same parameters, outcomes,
 * locks and transaction ids as APPEND_FUNCTION_V2 (appending-transactions.sql.ts), with less
 * work per call. Profiled with 8 clients, the function's statements (each an executor start
 * and end) cost more server time than the insert itself, so the common path runs two: the
 * stream's version and the INSERT.
 * - The look-up of the ids is a statement only where it is asked for (p_check_ids) or the
 *   append is about to be refused; before, the condition around it was itself a query, run on
 *   every call.
 * - A single event is inserted from a VALUES row; batches keep the set insert (a function scan
 *   of the array, a sort by ordinal and an aggregate of the positions), whose set-up is paid
 *   once per batch.
 */
const APPEND_FUNCTION_V3 = `
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
    v_event     jsonb;
    v_position  bigint;
  BEGIN
    IF v_count IS NULL OR v_count = 0 THEN
      RAISE EXCEPTION 'event_store.append_to_stream needs a non-empty JSON array of events';
    END IF;

    -- A plain read below must see the latest commit, which only READ COMMITTED guarantees.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'event_store.append_to_stream needs READ COMMITTED, not %', current_setting('transaction_isolation')
        USING ERRCODE = '0A000';
    END IF;

    -- Writers of one stream queue here and get in only after the previous writer ended:
    -- holding it, this transaction reads the stream's latest version, and an id it takes
    -- below is newer than the previous writer's.
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
    -- the expected version of its first attempt, long outdated by now. (Two IFs: a condition
    -- holding a sub-query is run as a query even when its first operand is false.)
    IF p_check_ids OR v_mismatch THEN
      IF EXISTS (
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
      -- Register first, on a lower bound of the id taken next, and only then take it (see
      -- migration 1765000000002).
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
    IF v_count = 1 THEN
      v_event := p_events->0;
      INSERT INTO event_store.events (transaction_id, stream_id, stream_version, event_id, event_type, data, metadata)
      VALUES (txid, p_stream_id, new_version, (v_event->>'id')::uuid, v_event->>'type', v_event->'data',
              coalesce(v_event->'metadata', '{}'::jsonb))
      RETURNING global_position INTO v_position;
      positions := ARRAY[v_position];
    ELSE
      WITH inserted AS (
        INSERT INTO event_store.events (transaction_id, stream_id, stream_version, event_id, event_type, data, metadata)
        SELECT txid, p_stream_id, v_version + i.ord, (i.e->>'id')::uuid, i.e->>'type', i.e->'data',
               coalesce(i.e->'metadata', '{}'::jsonb)
          FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, ord)
         ORDER BY i.ord
        RETURNING global_position
      )
      SELECT array_agg(global_position ORDER BY global_position) INTO positions FROM inserted;
    END IF;

    IF p_notify THEN
      PERFORM pg_notify('${APPEND_CHANNEL}', '');
    END IF;
    outcome := 'appended';
  END
  $append$;
`;

/** Migration 1765000000003: the leaner append (behaviour unchanged). */
export const LEAN_APPEND_UP = APPEND_FUNCTION_V3;

/** Back to the body of migration 1765000000002. */
export const LEAN_APPEND_DOWN = APPEND_FUNCTION_V2;
