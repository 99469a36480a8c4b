import { Client } from 'pg';
import { adminDatabaseUrl, databaseUrl, dropDatabase } from '../src/postgres';
import { provisionServiceDatabase } from '../src/service-database';
import { uniqueName } from '../src/names';

jest.setTimeout(60_000);

async function query<T extends object = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const refusal = (url: string, sql: string) =>
  query(url, sql).then(
    () => 'accepted',
    (error: { code?: string }) => error.code,
  );

/**
 * provisionServiceDatabase on the real server: the two roles on a fresh database, and a database
 * of the earlier layout (owned by the runtime role, its tables too) handed over to the migrator,
 * the runtime role keeping its rows.
 */
describe('provisionServiceDatabase (real PostgreSQL)', () => {
  const name = uniqueName('prov');
  const database = `t_${name}`;
  const runtime = { role: `${name}_rt`, password: 'rt-secret' };
  const migrator = { role: `${name}_mg`, password: 'mg-secret' };
  const asAdmin = (db: string) => databaseUrl(db, adminDatabaseUrl());

  afterAll(async () => {
    await dropDatabase(database);
    for (const role of [runtime.role, migrator.role]) await query(asAdmin('postgres'), `DROP ROLE IF EXISTS ${role}`);
  });

  it('hands a database of the earlier layout to the migrator: objects moved, rows still the runtime role\'s to read and write, DDL refused', async () => {
    // The earlier layout: one role owning the database and what its migrations created.
    await query(asAdmin('postgres'), `CREATE ROLE ${runtime.role} LOGIN PASSWORD '${runtime.password}'`);
    await query(asAdmin('postgres'), `CREATE DATABASE ${database} OWNER ${runtime.role}`);
    const before = new URL(asAdmin(database));
    before.username = runtime.role;
    before.password = runtime.password;
    await query(before.toString(), 'CREATE SCHEMA messaging; CREATE TABLE messaging.outbox (position bigint GENERATED ALWAYS AS IDENTITY, topic text); CREATE TABLE kept (id int)');

    const db = await provisionServiceDatabase({ database, runtime, migrator });
    expect(db).toMatchObject({ database, role: runtime.role, migrationRole: migrator.role });

    const owners = await query<{ name: string; owner: string }>(
      asAdmin(database),
      `SELECT datname AS name, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()
       UNION ALL SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('public', 'messaging')
       UNION ALL SELECT relname, pg_get_userbyid(relowner) FROM pg_class WHERE relname IN ('outbox', 'kept', 'outbox_position_seq')`,
    );
    expect(owners).toHaveLength(6);
    expect(owners.filter((o) => o.owner !== migrator.role)).toEqual([]);

    await query(db.url, "INSERT INTO messaging.outbox (topic) VALUES ('t'); INSERT INTO kept VALUES (1); DELETE FROM kept; TRUNCATE kept");
    expect(await query(db.url, 'SELECT topic FROM messaging.outbox')).toEqual([{ topic: 't' }]);
    expect(await refusal(db.url, 'DROP TABLE kept')).toBe('42501');
    expect(await refusal(db.url, 'CREATE TABLE intruder (id int)')).toBe('42501');
    expect(await refusal(db.url, 'ALTER TABLE messaging.outbox ADD COLUMN intruder text')).toBe('42501');
  });

  it('is idempotent, and what the migrator creates later is the runtime role\'s to use through default privileges', async () => {
    const db = await provisionServiceDatabase({ database, runtime, migrator });
    await query(db.migrationUrl, 'CREATE SCHEMA later; CREATE TABLE later.rows (id bigserial PRIMARY KEY, v text); CREATE FUNCTION later.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
    await query(db.url, "INSERT INTO later.rows (v) VALUES ('x')");
    expect(await query(db.url, 'SELECT later.f() AS f, (SELECT count(*)::int FROM later.rows) AS n')).toEqual([{ f: 1, n: 1 }]);
    expect(await refusal(db.url, 'DROP TABLE later.rows')).toBe('42501');
  });
});
