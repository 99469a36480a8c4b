/**
 * Streams, events, snapshots and projection checkpoints in schema `event_store`.
 * Plain, re-runnable SQL (IF NOT EXISTS): services run it through TypeORM at start.
 * Migration 1765000000000, as applied. Since migration 1765000000002 (appending-transactions.sql.ts)
 * transaction_id holds the store's own id of the appending transaction, and readers stop below
 * the transactions still appending to this store rather than below the oldest open one.
 */
export const TABLES_UP = `
  CREATE SCHEMA IF NOT EXISTS event_store;

  -- A stream is its events: its version is its last event's (the primary key, read backwards),
  -- and so is the transaction that wrote it last. There is no stream row to update.
  CREATE TABLE IF NOT EXISTS event_store.events (
    -- From a sequence: unique, but transactions commit out of position order, so readers
    -- order by (transaction_id, global_position) and stop below the oldest open transaction.
    global_position bigint      GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT events_pkey PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_global_order_key UNIQUE (transaction_id, global_position)
  );

  -- The latest snapshot of a stream's aggregate state. schema_version belongs to the
  -- aggregate's code: a loader expecting another version ignores the row.
  CREATE TABLE IF NOT EXISTS event_store.snapshots (
    stream_id      text        PRIMARY KEY,
    schema_version integer     NOT NULL,
    stream_version bigint      NOT NULL CHECK (stream_version > 0),
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT clock_timestamp()
  );

  -- A projection's checkpoint, updated in the transaction that changes its read model.
  CREATE TABLE IF NOT EXISTS event_store.projections (
    name                  text        PRIMARY KEY,
    transaction_id        xid8        NOT NULL DEFAULT '0',
    global_position       bigint      NOT NULL DEFAULT 0,
    status                text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rebuilding', 'failed')),
    error                 text,
    failed_event_id       uuid,
    failed_transaction_id xid8,
    failed_position       bigint,
    failed_at             timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT clock_timestamp()
  );
`;

export const TABLES_DOWN = `
  DROP TABLE IF EXISTS event_store.projections;
  DROP TABLE IF EXISTS event_store.snapshots;
  DROP TABLE IF EXISTS event_store.events;
  DROP SCHEMA IF EXISTS event_store;
`;
