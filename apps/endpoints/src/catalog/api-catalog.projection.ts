import { type SqlClient } from '@platform/core';
import type { Projection, RecordedEvent } from '@platform/event-store';
import { API_EVENT_TYPES, type ApiEvent } from '../apis/api.events';

type Data<T extends ApiEvent['type']> = Extract<ApiEvent, { type: T }>['data'];

/**
 * The list and detail views of every API, over all API streams: `api_catalog` (one row per
 * API) and `api_catalog_endpoints`. Applied in the global order, in the transaction that moves
 * the checkpoint; `version` is the API's stream version, which is also its ETag.
 */
export const apiCatalogProjection: Projection = {
  name: 'api-catalog',
  eventTypes: [...API_EVENT_TYPES],

  async apply(event: RecordedEvent, tx: SqlClient): Promise<void> {
    const apiId = event.streamId.replace(/^api-/, '');
    const version = event.streamVersion;
    switch (event.type as ApiEvent['type']) {
      case 'ApiRegistered': {
        const d = event.data as Data<'ApiRegistered'>;
        await tx.query(
          `INSERT INTO api_catalog (api_id, owner_id, name, base_path, status, endpoint_count, version, updated_at)
           VALUES ($1, $2, $3, $4, 'active', 0, $5, $6)`,
          [d.apiId, d.ownerId, d.name, d.basePath, version, event.recordedAt],
        );
        return;
      }
      case 'ApiDetailsChanged': {
        const d = event.data as Data<'ApiDetailsChanged'>;
        await touch(tx, apiId, version, event.recordedAt, 'name = $4, base_path = $5', [d.name, d.basePath]);
        return;
      }
      case 'ApiDeprecated':
        await touch(tx, apiId, version, event.recordedAt, "status = 'deprecated'", []);
        return;
      case 'RetentionHoldPlaced':
        await touch(tx, apiId, version, event.recordedAt, 'retention_hold = $4', [(event.data as Data<'RetentionHoldPlaced'>).reason]);
        return;
      case 'ApiRetired':
        await touch(tx, apiId, version, event.recordedAt, "status = 'retired'", []);
        return;
      case 'ApiRestored':
        await touch(tx, apiId, version, event.recordedAt, 'status = $4', [(event.data as Data<'ApiRestored'>).status]);
        return;
      case 'EndpointAdded': {
        const d = event.data as Data<'EndpointAdded'>;
        await tx.query(
          `INSERT INTO api_catalog_endpoints (api_id, endpoint_id, method, path, upstream_url, version) VALUES ($1, $2, $3, $4, $5, $6)`,
          [apiId, d.endpointId, d.method, d.path, d.upstreamUrl, version],
        );
        await touch(tx, apiId, version, event.recordedAt, 'endpoint_count = endpoint_count + 1', []);
        return;
      }
      case 'EndpointChanged': {
        const d = event.data as Data<'EndpointChanged'>;
        await tx.query(
          `UPDATE api_catalog_endpoints SET method = $3, path = $4, upstream_url = $5, version = $6 WHERE api_id = $1 AND endpoint_id = $2`,
          [apiId, d.endpointId, d.method, d.path, d.upstreamUrl, version],
        );
        await touch(tx, apiId, version, event.recordedAt, '', []);
        return;
      }
      case 'EndpointRemoved': {
        const d = event.data as Data<'EndpointRemoved'>;
        await tx.query('DELETE FROM api_catalog_endpoints WHERE api_id = $1 AND endpoint_id = $2', [apiId, d.endpointId]);
        await touch(tx, apiId, version, event.recordedAt, 'endpoint_count = endpoint_count - 1', []);
        return;
      }
    }
  },

  async truncate(tx: SqlClient): Promise<void> {
    await tx.query('TRUNCATE api_catalog_endpoints, api_catalog');
  },
};

/** Moves an API's row to `version`; a missing row means the stream was applied out of order: fail loudly. */
async function touch(tx: SqlClient, apiId: string, version: number, at: Date, set: string, values: unknown[]): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE api_catalog SET ${set ? `${set}, ` : ''}version = $2, updated_at = $3 WHERE api_id = $1 AND version = $2 - 1`,
    [apiId, version, at, ...values],
  );
  if (rowCount !== 1) throw new Error(`api-catalog: event version ${version} of API ${apiId} does not follow the view's version`);
}
