import { createTestDatabase, type TestDatabase } from '@platform/testing';
import { DataSource } from 'typeorm';
import { pgDriverKeepingItsPool, poolOf } from '../src';

/**
 * The libraries (outbox relay, inbox, sagas, event store) run their SQL on the pool TypeORM made
 * for the service, reached through TypeORM's public `driver` option, not its private fields.
 */
describe('poolOf', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('pool_of');
  });

  afterAll(async () => {
    await db?.drop();
  });

  /** A data source on the test database whose pool holds one connection. */
  function dataSource(driver: object | undefined): DataSource {
    return new DataSource({ type: 'postgres', url: db.url, ...(driver && { driver }), extra: { max: 1 } });
  }

  it("is the data source's own pool: with room for one connection, both see the same server process", async () => {
    const source = await dataSource(pgDriverKeepingItsPool()).initialize();
    try {
      const [{ pid: typeorms }] = (await source.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      const pool = poolOf(source);
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(rows[0].pid).toBe(typeorms);
      expect(pool.totalCount).toBe(1);
    } finally {
      await source.destroy();
    }
  });

  it('follows the data source through destroy and a new initialization, which makes a new pool', async () => {
    const source = await dataSource(pgDriverKeepingItsPool()).initialize();
    const first = poolOf(source);
    await source.destroy();
    expect(() => poolOf(source)).toThrow(/not an initialized PostgreSQL data source/);
    await source.initialize();
    try {
      expect(poolOf(source)).not.toBe(first);
      expect((await poolOf(source).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await source.destroy();
    }
  });

  it('refuses a data source built without the keeping driver', async () => {
    const source = await dataSource(undefined).initialize();
    try {
      expect(() => poolOf(source)).toThrow(/pgDriverKeepingItsPool/);
    } finally {
      await source.destroy();
    }
  });

  it('keeps one pool per driver: two data sources get their own', async () => {
    const [a, b] = await Promise.all([dataSource(pgDriverKeepingItsPool()).initialize(), dataSource(pgDriverKeepingItsPool()).initialize()]);
    try {
      expect(poolOf(a)).not.toBe(poolOf(b));
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });
});
