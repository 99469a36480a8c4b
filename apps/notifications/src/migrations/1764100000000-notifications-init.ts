import type { SqlMigration } from '@platform/core';

export const NOTIFICATIONS_INIT: SqlMigration = {
  id: '1764100000000-notifications-init',
  up: `
      CREATE TABLE template_cache (
        template_id uuid PRIMARY KEY,
        name        text NOT NULL,
        channel     text NOT NULL,
        subject     text NOT NULL,
        body        text NOT NULL,
        revision    integer NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX template_cache_by_name ON template_cache (name, revision DESC);

      CREATE TABLE notifications (
        id                uuid PRIMARY KEY,
        user_id           uuid NOT NULL,
        kind              text NOT NULL,
        channel           text NOT NULL,
        subject           text NOT NULL,
        body              text NOT NULL,
        template_id       uuid,
        template_revision integer,
        caused_by         uuid NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX notifications_by_user ON notifications (user_id, created_at);`,
  down: 'DROP TABLE notifications; DROP TABLE template_cache;',
};
