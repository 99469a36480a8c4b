import type { SqlMigration } from '@platform/core';

/** The catalog shows an API's retention hold (a retired API shows as status 'retired'). */
export const API_RETENTION: SqlMigration = {
  id: '1764500000000-api-retention',
  up: 'ALTER TABLE api_catalog ADD COLUMN retention_hold text',
  down: 'ALTER TABLE api_catalog DROP COLUMN retention_hold',
};
