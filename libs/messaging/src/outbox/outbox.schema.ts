import type { SqlMigration } from '@platform/core';
import { WINDOW_MIGRATIONS } from '../windowing/window.schema';
import { SAGA_MIGRATIONS } from '../saga/saga.schema';

export const OUTBOX_CHANNEL = 'messaging_outbox';

const OUTBOX_INBOX_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000000-messaging-outbox-inbox',
    up: `
      CREATE SCHEMA IF NOT EXISTS messaging;

      -- Events waiting to be sent, written in the same transaction as the state change.
      CREATE TABLE messaging.outbox (
        position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id    uuid        NOT NULL UNIQUE,
        topic       text        NOT NULL,
        message_key text        NOT NULL,
        headers     jsonb       NOT NULL,
        payload     text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        attempts    integer     NOT NULL DEFAULT 0,
        last_error  text
      );

      -- Whether the relay sleeps waiting for NOTIFY. A commit that notifies takes a
      -- cluster-wide lock, so writers notify only while the relay sleeps; a busy relay polls.
      CREATE TABLE messaging.relay_state (
        id      integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        waiting boolean NOT NULL DEFAULT true
      );
      INSERT INTO messaging.relay_state DEFAULT VALUES;

      -- One wake-up per inserting statement, delivered at commit, when the relay waits for it.
      CREATE FUNCTION messaging.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM messaging.relay_state WHERE waiting) THEN
          PERFORM pg_notify('${OUTBOX_CHANNEL}', '');
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER outbox_notify AFTER INSERT ON messaging.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION messaging.notify_outbox();

      -- Events a consumer group has handled; written in the handler's transaction.
      CREATE TABLE messaging.inbox (
        consumer_group text        NOT NULL,
        event_id       uuid        NOT NULL,
        topic          text        NOT NULL,
        partition      integer     NOT NULL,
        "offset"       bigint      NOT NULL,
        handled_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer_group, event_id)
      );
    `,
    down: `
      DROP TABLE messaging.inbox;
      DROP TRIGGER outbox_notify ON messaging.outbox;
      DROP FUNCTION messaging.notify_outbox();
      DROP TABLE messaging.relay_state;
      DROP TABLE messaging.outbox;
    `,
  },
];

/** Tables the messaging library keeps in each service's own database, schema `messaging`. */
/** Inbox records are deleted by age; a BRIN index finds the old ones at almost no cost per insert. */
const INBOX_RETENTION_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000003-messaging-inbox-retention',
    up: 'CREATE INDEX inbox_handled_at ON messaging.inbox USING brin (handled_at);',
    down: 'DROP INDEX messaging.inbox_handled_at;',
  },
];

/**
 * Outbox rows Kafka refuses every time (too large for the topic, topic gone, not authorized)
 * move here after their budget, in the transaction that deletes them from the outbox, so the
 * rows behind them keep flowing. `npm run outbox -- <service> redrive` moves them back.
 */
const OUTBOX_DEAD_LETTER_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000010-messaging-outbox-dead-letters',
    up: `
      CREATE TABLE messaging.outbox_dead_letters (
        position    bigint      PRIMARY KEY,  -- the row's position in the outbox
        event_id    uuid        NOT NULL,
        topic       text        NOT NULL,
        message_key text        NOT NULL,
        headers     jsonb       NOT NULL,
        payload     text        NOT NULL,
        created_at  timestamptz NOT NULL,
        attempts    integer     NOT NULL,     -- sends Kafka refused
        error       text        NOT NULL,     -- the last refusal
        error_name  text        NOT NULL,     -- its Kafka error code name (MESSAGE_TOO_LARGE, ...)
        failed_at   timestamptz NOT NULL DEFAULT clock_timestamp()
      );
    `,
    down: 'DROP TABLE messaging.outbox_dead_letters;',
  },
];

/**
 * An event published in two versions side by side during a migration is one event id in two
 * rows, one per version's topic (consumers of both record the id once in their inbox): the id is
 * unique per topic, no longer across the outbox.
 */
const OUTBOX_EVENT_VERSIONS_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000020-messaging-outbox-event-versions',
    up: `
      ALTER TABLE messaging.outbox DROP CONSTRAINT outbox_event_id_key;
      ALTER TABLE messaging.outbox ADD CONSTRAINT outbox_event_id_topic_key UNIQUE (event_id, topic);
    `,
    down: `
      ALTER TABLE messaging.outbox DROP CONSTRAINT outbox_event_id_topic_key;
      ALTER TABLE messaging.outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
    `,
  },
];

export const MESSAGING_MIGRATIONS: readonly SqlMigration[] = [
  ...OUTBOX_INBOX_MIGRATIONS,
  ...WINDOW_MIGRATIONS,
  ...INBOX_RETENTION_MIGRATIONS,
  ...OUTBOX_DEAD_LETTER_MIGRATIONS,
  ...SAGA_MIGRATIONS,
  ...OUTBOX_EVENT_VERSIONS_MIGRATIONS,
];
