import type { SqlMigration } from '@platform/core';

export const WINDOW_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: '1764000000001-messaging-windows',
    up: `
      -- One row per (consumer group, key, window): the window's idempotency record. It is
      -- handled once, in the transaction that sets closed_at; events arriving after that are late.
      CREATE TABLE messaging.windows (
        consumer_group text        NOT NULL,
        window_key     text        NOT NULL,
        window_start   timestamptz NOT NULL,
        window_end     timestamptz NOT NULL,
        close_at       timestamptz NOT NULL,
        closed_at      timestamptz,
        event_count    integer,
        failed         boolean     NOT NULL DEFAULT false,
        PRIMARY KEY (consumer_group, window_key, window_start)
      );
      CREATE INDEX windows_due ON messaging.windows (consumer_group, close_at) WHERE closed_at IS NULL;

      -- The events of open windows, staged durably before their offsets may be committed.
      CREATE TABLE messaging.window_events (
        consumer_group text        NOT NULL,
        window_key     text        NOT NULL,
        window_start   timestamptz NOT NULL,
        event_id       uuid        NOT NULL,
        event_time     timestamptz NOT NULL,
        topic          text        NOT NULL,
        partition      integer     NOT NULL,
        "offset"       bigint      NOT NULL,
        message_key    text,
        envelope       jsonb       NOT NULL,
        PRIMARY KEY (consumer_group, window_key, window_start, event_id)
      );
      CREATE INDEX window_events_by_event ON messaging.window_events (consumer_group, event_id);

      -- How far each partition of a windowed group has been read, in time: every event produced
      -- before the watermark has been staged. A window is handled only once every partition's
      -- watermark passed its close time, so a lagging or restarting reader is waited for.
      CREATE TABLE messaging.partition_watermarks (
        consumer_group text        NOT NULL,
        topic          text        NOT NULL,
        partition      integer     NOT NULL,
        watermark      timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer_group, topic, partition)
      );
    `,
    down: `
      DROP TABLE messaging.partition_watermarks;
      DROP TABLE messaging.window_events;
      DROP TABLE messaging.windows;
    `,
  },
  {
    id: '1764000000002-messaging-window-pruning',
    up: `
      -- Handled windows are deleted after a retention period (with their staged events), so the
      -- table stays the size of that period. A window closing at or before pruned_through may
      -- have existed and been handled: an event for it is late, and no new window is opened.
      CREATE TABLE messaging.window_prune_marks (
        consumer_group text        PRIMARY KEY,
        pruned_through timestamptz NOT NULL
      );
      CREATE INDEX windows_handled ON messaging.windows (consumer_group, closed_at) WHERE closed_at IS NOT NULL;
    `,
    down: `
      DROP INDEX messaging.windows_handled;
      DROP TABLE messaging.window_prune_marks;
    `,
  },
  {
    id: '1764000000004-messaging-window-attempts',
    up: `
      -- A failing window's attempts live with the window, not in one instance's memory: every
      -- instance, and an instance after a restart, sees how many attempts were spent and when
      -- the next one is due, so the retry budget holds however often the work moves.
      ALTER TABLE messaging.windows
        ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
        ADD COLUMN retry_at   timestamptz,
        ADD COLUMN last_error text;
    `,
    down: `
      ALTER TABLE messaging.windows DROP COLUMN last_error, DROP COLUMN retry_at, DROP COLUMN attempts;
    `,
  },
];
