import { MESSAGING_MIGRATIONS } from '@platform/messaging';
import { createTestDatabase, type TestDatabase } from '@platform/testing';
import { runMigrationsAsOwner } from '../src/database/migration-runner';
import { typeOrmMigrations } from '../src/database/typeorm-migrations';

/**
 * Replicas of a service that start at once migrate its database one after the other: without
 * the lock, two of them ran the first migration together and one died on its CREATE SCHEMA.
 */
describe('runMigrationsAsOwner', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase('migration_runner');
  });

  afterEach(async () => {
    await db?.drop();
  });

  it('lets four instances starting at once on a fresh database all come up, each migration applied once', async () => {
    const migrations = typeOrmMigrations(MESSAGING_MIGRATIONS);
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => runMigrationsAsOwner({ url: db.url, migrations, applicationName: `replica-${i}`, attempts: 1 })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const { rows } = await db.pool.query<{ name: string; n: string }>('SELECT name, count(*) AS n FROM migrations GROUP BY name');
    expect(rows).toHaveLength(migrations.length);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    // Nothing of the lock is left behind: the next start migrates (nothing) without waiting.
    // (pg_locks is the whole server's: other specs' advisory locks are in other databases.)
    const { rows: held } = await db.pool.query("SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()");
    expect(held).toEqual([]);
  });
});
