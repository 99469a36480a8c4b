import type { SqlMigration } from '@platform/core';

export const USERS_INIT: SqlMigration = {
  id: '1764100000000-users-init',
  up: `
      CREATE TABLE users (
        id           uuid PRIMARY KEY,
        email        text NOT NULL UNIQUE,
        display_name text NOT NULL,
        status       text NOT NULL CHECK (status IN ('active', 'deactivated')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`,
  down: 'DROP TABLE users',
};
