import type { SqlMigration } from '@platform/core';

/**
 * One row per account closure requested: which user, and whether its compensation reopened the
 * account (so that a repeated ReopenAccount changes nothing). The saga's own state lives in the
 * messaging tables, keyed by the closure id.
 */
export const ACCOUNT_CLOSURES: SqlMigration = {
  id: '1764400000000-account-closures',
  up: `
      CREATE TABLE account_closures (
        closure_id   uuid PRIMARY KEY,
        user_id      uuid NOT NULL REFERENCES users (id),
        status       text NOT NULL CHECK (status IN ('closing', 'reopened')),
        requested_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX account_closures_by_user ON account_closures (user_id, requested_at DESC);`,
  down: 'DROP TABLE account_closures',
};
