/** The outbox relay's statements. */

const COLUMNS = 'position, topic, message_key, headers, payload, attempts';

/**
 * Set on each row a relay statement deletes, so its transaction commits without waiting for its WAL
 * to reach the disk (the WAL writer flushes it within wal_writer_delay). A delete lost that way, when
 * PostgreSQL itself crashes, leaves rows Kafka already has: they are sent again, and consumers
 * de-duplicate, as after a relay crash between send and delete. Not waiting takes one flush out of
 * every relay round, and the round's wait out of the path of each row committed behind it (paced
 * pipeline, commit to send, alternating runs on 2026-12-01: p50 2 ms and p99 14-19 ms in eight
 * rounds waiting, p50 1 ms and p99 8-17 ms in six without). Set per deleted row, because a statement that deleted
 * nothing has no commit to flush.
 */
const SENT_WITHOUT_FLUSH_WAIT = `RETURNING set_config('synchronous_commit', 'off', true)`;

/** Same key in every service database: one relay per database, whichever replica holds it. */
export const RELAY_LOCK_KEY = 7_219_442_001;

/** The relay's lock as pg_locks shows a bigint advisory key: its high 32 bits, its low 32 bits, and objsubid 1. */
export const RELAY_LOCK_IN_PG_LOCKS = { classid: Math.floor(RELAY_LOCK_KEY / 2 ** 32), objid: RELAY_LOCK_KEY % 2 ** 32, objsubid: 1 } as const;

/**
 * Whether the backend whose pid is the parameter still holds the relay's lock. A session that
 * died, or was ended, released its lock with it.
 */
const holdsRelayLock = (pid: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted AND pid = ${pid}::int
      AND classid = ${RELAY_LOCK_IN_PG_LOCKS.classid} AND objid = ${RELAY_LOCK_IN_PG_LOCKS.objid} AND objsubid = ${RELAY_LOCK_IN_PG_LOCKS.objsubid})`;

/**
 * The rows `rowsSql` reads, in position order, each with `leading`: whether the relay's lock is
 * still held by its session (the pid parameter). With no row to read, one row of NULLs carries it.
 * The check rides on the read the relay makes anyway: a round trip on the lock's connection before
 * each batch was two statements more a round, as many as the round's own on a lightly loaded outbox.
 */
const withLeading = (pid: string, rowsSql: string) => `SELECT o.*, l.leading FROM (SELECT ${holdsRelayLock(pid)} AS leading) l
  LEFT JOIN LATERAL (${rowsSql}) o ON true ORDER BY o.position`;

export const READ_SQL = withLeading('$2', `SELECT ${COLUMNS} FROM messaging.outbox ORDER BY position LIMIT $1`);

/**
 * The sent rows ($1) go, and the next batch is read, in one round trip, past the rows in flight
 * ($4: sent, not yet acknowledged). The statement's snapshot still shows the deleted rows, hence
 * their exclusion too.
 */
export const DELETE_AND_READ_SQL = `WITH sent AS (DELETE FROM messaging.outbox WHERE position = ANY($1::bigint[]) ${SENT_WITHOUT_FLUSH_WAIT})
  ${withLeading('$3', `SELECT ${COLUMNS} FROM messaging.outbox WHERE position <> ALL($1::bigint[]) AND position <> ALL($4::bigint[]) ORDER BY position LIMIT $2`)}`;

/**
 * While refused rows wait for their next attempt, neither they nor the rows of their keys behind
 * them are read, nor any row of a topic Kafka refused as a whole.
 */
export const READ_SKIPPING_SQL = withLeading(
  '$5',
  `SELECT ${COLUMNS} FROM messaging.outbox
   WHERE (topic, message_key) NOT IN (SELECT t, k FROM unnest($2::text[], $3::text[]) AS held(t, k))
     AND topic <> ALL($4::text[])
   ORDER BY position LIMIT $1`,
);

export const DELETE_SQL = `WITH sent AS (DELETE FROM messaging.outbox WHERE position = ANY($1::bigint[]) ${SENT_WITHOUT_FLUSH_WAIT})
  SELECT count(*) FROM sent`;

export const COUNT_REFUSALS_SQL = `UPDATE messaging.outbox o SET attempts = o.attempts + 1, last_error = r.error
    FROM unnest($1::bigint[], $2::text[]) AS r(position, error)
   WHERE o.position = r.position
  RETURNING o.position::text AS position, o.attempts`;

export const DEAD_LETTER_SQL = `WITH dead AS (DELETE FROM messaging.outbox WHERE position = ANY($1::bigint[]) RETURNING *)
  INSERT INTO messaging.outbox_dead_letters (position, event_id, topic, message_key, headers, payload, created_at, attempts, error, error_name)
  SELECT d.position, d.event_id, d.topic, d.message_key, d.headers, d.payload, d.created_at, d.attempts, d.last_error, r.error_name
    FROM dead d JOIN unnest($1::bigint[], $2::text[]) AS r(position, error_name) USING (position)`;
