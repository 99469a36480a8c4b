/** The channel appends NOTIFY on; subscriptions LISTEN to it and poll as a fallback. */
export const APPEND_CHANNEL = 'event_store_appended';

/** Advisory lock class (the two-int4 key space) of per-stream append locks: (class, hashtext(stream)). */
export const STREAM_LOCK_CLASS = 1_702_171_904;

/**
 * Migration 1765000000001, as applied: the first version of the append, which ordered events
 * by their transaction's xid. Migration 1765000000002 (appending-transactions.sql.ts) replaces
 * it; its parameters and outcomes stay as described here.
 *
 * The whole append in one statement, so a single-event append is one round trip.
 *
 * p_expected:  >= 0 the exact current version (0: no stream), -1 any, -2 the stream exists.
 * p_events:    [{ "id", "type", "data", "metadata" }, ...] in stream order.
 * p_check_ids: look for the ids first, so that a retried append is answered with a row. Without
 *              it (the store's own autocommit path) they are looked for only when the append
 *              would be refused; otherwise a stored id fails the INSERT on events_event_id_key,
 *              and the caller asks again in checking mode. That saves a lookup per append.
 * Outcomes:    appended | replayed (the same ids already stored at the same place) |
 *              conflict (new_version = the actual version) | id_conflict (conflicting_id) |
 *              order_conflict (this transaction is older than the stream's last writer).
 * Refusals return a row instead of raising, so a caller's transaction stays usable.
 */
export const APPEND_FUNCTION_UP = `
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
  BEGIN
    IF v_count IS NULL OR v_count = 0 THEN
      RAISE EXCEPTION 'event_store.append_to_stream needs a non-empty JSON array of events';
    END IF;

    -- A plain read below must see the latest commit, which only READ COMMITTED guarantees.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'event_store.append_to_stream needs READ COMMITTED, not %', current_setting('transaction_isolation')
        USING ERRCODE = '0A000';
    END IF;

    -- Writers of one stream queue here, on a lock that needs no xid to wait for, and get in
    -- only after the previous writer committed: holding it, this transaction reads the
    -- stream's latest version, and its xid, taken below, is newer than the previous writer's.
    -- (A row lock is not enough: under READ COMMITTED a waiter can take its xid in a lock
    -- attempt on an outdated row version, then lose the row to a newer arrival.)
    PERFORM pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(p_stream_id));
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

    txid := pg_current_xact_id();
    IF v_exists AND v_last_xid > txid THEN
      outcome := 'order_conflict';
      new_version := v_version;
      RETURN;
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

export const APPEND_FUNCTION_DOWN = `
  DROP FUNCTION IF EXISTS event_store.append_to_stream(text, bigint, jsonb, boolean, boolean);
`;
