import { errorMessage, sleep } from '@platform/core';
import { DataSource, type MigrationInterface } from 'typeorm';
import { serviceLogger } from '../logging/process-logger';

type MigrationClass = new () => MigrationInterface;

export interface MigrationRun {
  /** MIGRATION_DATABASE_URL: the role that owns the schema. */
  readonly url: string;
  readonly migrations: readonly MigrationClass[];
  readonly applicationName: string;
  /** Connection attempts before giving up (the database may still be starting), one a second. */
  readonly attempts?: number;
}

/**
 * Runs the pending migrations as the migration role, on a connection of their own that is
 * closed before the service opens its pool as the runtime role (which could not run the DDL).
 * The same migrations table and transaction mode as TypeORM's migrationsRun, so a database
 * migrated either way looks the same.
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
  try {
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    logger.info(`migrations applied as the migration role: ${applied.length} new`, { migrations: applied.map((m) => m.name) });
  } finally {
    await dataSource.destroy();
  }
}
