import pg, { type Pool, type PoolConfig } from 'pg';
import type { DataSource } from 'typeorm';

// The pool each driver made, by driver: TypeORM keeps its pool to itself (a private field), so
// the pg module it is given (its public `driver` option) remembers the pool it constructs.
const pools = new WeakMap<object, Pool>();

/**
 * The `pg` module for TypeORM's `driver` option (postgres): pg itself, except that the pool
 * TypeORM builds from it is remembered, for poolOf. One per data source. TypeORM makes one pool
 * per initialization (one per server under `replication`, which the platform does not use); the
 * latest is the data source's.
 */
export function pgDriverKeepingItsPool(): typeof pg {
  const driver: typeof pg = Object.create(pg);
  driver.Pool = class KeptPool extends pg.Pool {
    constructor(config?: PoolConfig) {
      super(config);
      pools.set(driver, this);
    }
  };
  return driver;
}

/** The pg pool under a TypeORM data source: the libraries share the service's connections. */
export function poolOf(dataSource: DataSource): Pool {
  const driver = (dataSource.options as { driver?: object }).driver;
  const pool = driver && pools.get(driver);
  if (!pool || !dataSource.isInitialized) {
    throw new Error('the data source is not an initialized PostgreSQL data source whose driver is pgDriverKeepingItsPool()');
  }
  return pool;
}
