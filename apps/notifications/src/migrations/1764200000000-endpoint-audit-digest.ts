import type { SqlMigration } from '@platform/core';

export const ENDPOINT_AUDIT_DIGEST: SqlMigration = {
  id: '1764200000000-endpoint-audit-digest',
  up: `
      CREATE TABLE endpoint_audit (
        event_id       uuid PRIMARY KEY,
        api_id         uuid NOT NULL,
        owner_id       uuid NOT NULL,
        endpoint_id    uuid NOT NULL,
        method         text NOT NULL,
        path           text NOT NULL,
        upstream_url   text NOT NULL,
        change         text NOT NULL,
        api_version    integer NOT NULL,
        occurred_at    timestamptz NOT NULL,
        correlation_id text NOT NULL,
        recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX endpoint_audit_by_api ON endpoint_audit (api_id, api_version);

      CREATE TABLE endpoint_digests (
        id           uuid PRIMARY KEY,
        owner_id     uuid NOT NULL,
        window_start timestamptz NOT NULL,
        window_end   timestamptz NOT NULL,
        event_ids    uuid[] NOT NULL,
        changes      jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- Belt and braces beside the window's idempotency record: one digest per owner and window.
        UNIQUE (owner_id, window_start)
      );`,
  down: 'DROP TABLE endpoint_digests; DROP TABLE endpoint_audit;',
};
