import type { SqlMigration } from '@platform/core';

export const TEMPLATES_INIT: SqlMigration = {
  id: '1764100000000-templates-init',
  up: `
      CREATE TABLE templates (
        id         uuid PRIMARY KEY,
        name       text NOT NULL UNIQUE,
        channel    text NOT NULL,
        subject    text NOT NULL,
        body       text NOT NULL,
        revision   integer NOT NULL CHECK (revision >= 1),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  down: 'DROP TABLE templates',
};
