import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ApiSummaryView, ApiView, EndpointView } from '../apis/apis.dto';

/** Reads of the api-catalog projection: eventually consistent with the streams. */
@Injectable()
export class ApiCatalogQueries {
  constructor(private readonly dataSource: DataSource) {}

  list(ownerId?: string): Promise<ApiSummaryView[]> {
    return this.dataSource.query(
      `SELECT api_id AS id, owner_id AS "ownerId", name, base_path AS "basePath", status, endpoint_count AS "endpointCount", version
         FROM api_catalog WHERE $1::uuid IS NULL OR owner_id = $1 ORDER BY name, api_id LIMIT 500`,
      [ownerId ?? null],
    );
  }

  async detail(apiId: string): Promise<ApiView | undefined> {
    const [api] = await this.dataSource.query(
      `SELECT api_id AS id, owner_id AS "ownerId", name, base_path AS "basePath", status, retention_hold AS "retentionHold", version FROM api_catalog WHERE api_id = $1`,
      [apiId],
    );
    if (!api) return undefined;
    const endpoints: EndpointView[] = await this.dataSource.query(
      `SELECT endpoint_id AS "endpointId", method, path, upstream_url AS "upstreamUrl" FROM api_catalog_endpoints WHERE api_id = $1 ORDER BY path, method`,
      [apiId],
    );
    return { ...api, endpoints };
  }
}
