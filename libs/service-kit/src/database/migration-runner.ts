import { errorMessage, sleep } from '@platform/core';
import pg from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { serviceLogger } from '../logging/process-logger';

type MigrationClass = new () => MigrationInterface;

/** The advisory lock (per database) that replicas starting at once take to migrate one after the other. */
export const MIGRATION_LOCK_KEY = 7_219_442_002;

export interface MigrationRun {
  /** MIGRATION_DATABASE_URL: the role that owns the schema. */
  readonly url: string;
  readonly migrations: readonly MigrationClass[];
  readonly applicationName: string;
  /** Connection attempts before giving up (the database may still be starting), one a second. */
  readonly attempts?: number;
}

/**
 * Runs the pending migrations as the migration role (the runtime role in development, where
 * there is none), on a connection of their own that is closed before the service opens its pool
 * as the runtime role (which could not run the DDL). The same migrations table and transaction
 * mode as TypeORM's migrationsRun, so a database migrated either way looks the same.
 *
 * Replicas that start at once (a deployment's pods, a restart of all instances) migrate one
 * after the other under an advisory lock held on one more connection: without it both ran the
 * first migration, and the second died on `CREATE SCHEMA IF NOT EXISTS` (two such statements
 * at once collide on the catalog's unique index, found by the chaos run of 2026-12-01). The
 * one that waited finds the migrations applied.
 */
export async function runMigrationsAsOwner(run: MigrationRun): Promise<void> {
  const logger = serviceLogger('Migrations');
  const attempts = run.attempts ?? 10;
  const dataSource = new DataSource({
    type: 'postgres',
    url: run.url,
    migrations: [...run.migrations],
    migrationsTransactionMode: 'all',
    installExtensions: false,
    extra: { max: 1, application_name: run.applicationName, connectionTimeoutMillis: 10_000 },
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await dataSource.initialize();
      break;
    } catch (error) {
      if (attempt >= attempts) throw error;
      logger.warn(`cannot connect as the migration role (attempt ${attempt} of ${attempts}); retrying in 1 s`, { error: errorMessage(error) });
      await sleep(1000);
    }
  }
  const lock = new pg.Client({ connectionString: run.url, application_name: run.applicationName, connectionTimeoutMillis: 10_000 });
  try {
    await lock.connect();
    const { rows } = await lock.query<{ free: boolean }>('SELECT pg_try_advisory_lock($1) AS free', [MIGRATION_LOCK_KEY]);
    if (!rows[0].free) {
      logger.info('another instance is migrating this database; waiting for it');
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    logger.info(`migrations applied: ${applied.length} new`, { migrations: applied.map((m) => m.name) });
  } finally {
    // Ending the session releases the lock.
    await lock.end().catch(() => undefined);
    await dataSource.destroy();
  }
}
