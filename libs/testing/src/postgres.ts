import { Client, Pool, type PoolClient } from 'pg';
import { createdAtOf, uniqueName } from './names';

/** The server tests create their throwaway databases on; a role allowed to create databases. */
export function adminDatabaseUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function databaseUrl(database: string, base = adminDatabaseUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: Pool;
  /** Closes the pool and drops the database, whatever still holds connections to it. */
  drop(): Promise<void>;
}

const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database for one spec file; its name starts with `t_`. */
export async function createTestDatabase(prefix: string, { poolSize = 10 } = {}): Promise<TestDatabase> {
  const name = `t_${uniqueName(prefix)}`;
  await withAdmin(async (admin) => {
    await sweepStaleDatabases(admin);
    await admin.query(`CREATE DATABASE ${name}`);
  });
  const url = databaseUrl(name);
  const pool = new Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    drop: async () => {
      await pool.end().catch(() => undefined);
      await dropDatabase(name);
    },
  };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Leftovers of runs that crashed before dropping their databases. */
async function sweepStaleDatabases(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'");
  for (const { datname } of rows) {
    const createdAt = createdAtOf(datname);
    if (createdAt !== undefined && Date.now() - createdAt > STALE_AFTER_MS) {
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
    }
  }
}

/**
 * A transaction of the spec's own (BEGIN, the work, COMMIT; ROLLBACK when it throws), on `client`
 * when given, else on a connection of `pool` released afterwards. Not the libraries'
 * withTransaction: rows the outbox publisher writes in it are inserted at once (withTransaction
 * sends them with its COMMIT), so a spec can fake a fault in them before the commit.
 */
export async function inOwnTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> {
  const connection = client ?? (await pool.connect());
  try {
    await connection.query('BEGIN');
    const result = await work(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK');
    throw error;
  } finally {
    connection.release();
  }
}
