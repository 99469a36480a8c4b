import type { SqlMigration } from '@platform/core';

export const SAGA_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000006-messaging-sagas',
    up: `
      -- One row per saga instance (saga = its consumer group). Every input locks it (FOR UPDATE),
      -- so two messages for one instance arriving at once on different partitions serialize.
      CREATE TABLE messaging.saga_instances (
        saga           text        NOT NULL,
        instance_key   text        NOT NULL,
        status         text        NOT NULL CHECK (status IN ('waiting', 'active', 'completed', 'compensated', 'failed', 'abandoned')),
        state          jsonb,
        -- Messages that came before the instance existed, kept until a starting message arrives.
        early          jsonb       NOT NULL DEFAULT '[]'::jsonb,
        correlation_id text,
        version        integer     NOT NULL DEFAULT 0,
        created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        ended_at       timestamptz,
        PRIMARY KEY (saga, instance_key)
      );
      CREATE INDEX saga_instances_status ON messaging.saga_instances (saga, status);

      -- What each instance was given and what it decided, in order: why it is where it is.
      CREATE TABLE messaging.saga_history (
        saga         text        NOT NULL,
        instance_key text        NOT NULL,
        version      integer     NOT NULL,
        at           timestamptz NOT NULL DEFAULT clock_timestamp(),
        input        jsonb       NOT NULL,
        decision     jsonb       NOT NULL,
        PRIMARY KEY (saga, instance_key, version)
      );

      -- Durable timeouts, written in the transaction that decided them. One per (instance, name).
      -- Pending ones cost an index entry: the firer asks only for the earliest due ones.
      CREATE TABLE messaging.saga_timeouts (
        id           uuid        PRIMARY KEY,
        saga         text        NOT NULL,
        instance_key text        NOT NULL,
        name         text        NOT NULL,
        due_at       timestamptz NOT NULL,
        data         jsonb,
        attempts     integer     NOT NULL DEFAULT 0,
        last_error   text,
        UNIQUE (saga, instance_key, name)
      );
      CREATE INDEX saga_timeouts_due ON messaging.saga_timeouts (saga, due_at);
    `,
    down: `
      DROP TABLE messaging.saga_timeouts;
      DROP TABLE messaging.saga_history;
      DROP TABLE messaging.saga_instances;
    `,
  },
];
