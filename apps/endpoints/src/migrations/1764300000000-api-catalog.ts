import type { SqlMigration } from '@platform/core';

/** The read models of the api-catalog projection; the event store's own tables come from libs/event-store. */
export const API_CATALOG: SqlMigration = {
  id: '1764300000000-api-catalog',
  up: `
      CREATE TABLE api_catalog (
        api_id         uuid PRIMARY KEY,
        owner_id       uuid NOT NULL,
        name           text NOT NULL,
        base_path      text NOT NULL,
        status         text NOT NULL,
        endpoint_count integer NOT NULL,
        version        integer NOT NULL,
        updated_at     timestamptz NOT NULL
      );
      CREATE INDEX api_catalog_by_owner ON api_catalog (owner_id, name);
      CREATE TABLE api_catalog_endpoints (
        api_id       uuid NOT NULL REFERENCES api_catalog (api_id),
        endpoint_id  uuid NOT NULL,
        method       text NOT NULL,
        path         text NOT NULL,
        upstream_url text NOT NULL,
        version      integer NOT NULL,
        PRIMARY KEY (api_id, endpoint_id)
      );`,
  down: 'DROP TABLE api_catalog_endpoints; DROP TABLE api_catalog;',
};
