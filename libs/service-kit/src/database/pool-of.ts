import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** The pg pool under a TypeORM data source: the libraries share the service's connections. */
export function poolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('the data source is not an initialized PostgreSQL data source');
  return pool;
}
