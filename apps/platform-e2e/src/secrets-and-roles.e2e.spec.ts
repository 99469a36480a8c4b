import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ServiceProcess, TestPlatform, eventually, expectNoDeadLetters, freePort, httpJson } from '@platform/testing';

/** sysexits.h EX_CONFIG: what a service exits with when its configuration cannot work. */
const EX_CONFIG = 78;

/** What a service falls back to without DATABASE_URL, and what `npm start` provisions: the role's name as its password. */
const DEVELOPMENT_URL = 'postgres://users_svc:users_svc@127.0.0.1:5432/platform_users';

/** PostgreSQL's insufficient_privilege: "permission denied for ..." and "must be owner of ...". */
const INSUFFICIENT_PRIVILEGE = '42501';

describe('secrets: a service in production mode refuses the development passwords', () => {
  // A JWT key of its own: only the database passwords are under test here.
  const start = async (env: Record<string, string>) =>
    new ServiceProcess('users', await freePort(), { NODE_ENV: 'production', AUTH_JWT_SECRET: 'a-jwt-secret-of-its-own-at-least-32-chars', ...env }).start();

  it('exits with EX_CONFIG and one line naming DATABASE_URL when it carries the development password', async () => {
    const service = await start({ DATABASE_URL: DEVELOPMENT_URL });
    expect(await service.exited()).toBe(EX_CONFIG);
    const lines = service.logs().split('\n').filter((line) => line.includes('DATABASE_URL'));
    expect(lines).toEqual([
      'users: Invalid configuration: DATABASE_URL uses the development password of role users_svc (its own name), refused with NODE_ENV=production: give the service a secret of its own',
    ]);
  });

  it('names MIGRATION_DATABASE_URL when the migration role has the development password', async () => {
    const service = await start({
      DATABASE_URL: 'postgres://users_svc:a-secret-of-its-own@127.0.0.1:5432/platform_users',
      MIGRATION_DATABASE_URL: 'postgres://users_migrator:users_migrator@127.0.0.1:5432/platform_users',
    });
    expect(await service.exited()).toBe(EX_CONFIG);
    expect(service.logs()).toContain('users: Invalid configuration: MIGRATION_DATABASE_URL uses the development password of role users_migrator (its own name)');
  });
});

/**
 * endpoints (event store, projections, outbox) and notifications (inbox, windows) migrated by
 * their migration roles and running as their runtime roles, as TestPlatform starts every
 * service: the runtime role owns nothing and can change no schema, and the services work.
 */
describe('roles: the migration role owns the schema, the runtime role only reads and writes rows (endpoints + notifications, Kafka, PostgreSQL)', () => {
  const platform = new TestPlatform(['endpoints', 'notifications']);
  const pools: Pool[] = [];
  const as = (url: string) => {
    const pool = new Pool({ connectionString: url, max: 1 });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    await platform.start();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await platform.stop();
  }, 60_000);

  it.each(['endpoints', 'notifications'])('%s: every schema, table, sequence and function of the service belongs to the migration role; the runtime role owns nothing', async (name) => {
    const logins = platform.loginsOf(name);
    const runtime = as(logins.url);
    const owners = await runtime.query<{ kind: string; name: string; owner: string }>(
      `SELECT 'schema' AS kind, nspname AS name, pg_get_userbyid(nspowner) AS owner FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
       UNION ALL
       SELECT 'relation', n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       UNION ALL
       SELECT 'function', n.nspname || '.' || p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       UNION ALL
       SELECT 'database', datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`,
    );
    const relations = owners.rows.filter((r) => r.kind === 'relation').map((r) => r.name);
    expect(relations).toEqual(expect.arrayContaining(['messaging.outbox', 'messaging.inbox', 'public.migrations']));
    expect(owners.rows.filter((r) => r.owner !== logins.migrationRole)).toEqual([]);
  });

  it.each(['endpoints', 'notifications'])('%s: the runtime role is refused every CREATE, ALTER and DROP', async (name) => {
    const runtime = as(platform.loginsOf(name).url);
    const statements = [
      'CREATE TABLE public.intruder (id int)',
      'CREATE SCHEMA intruder',
      'CREATE INDEX intruder ON messaging.outbox (topic)',
      'CREATE FUNCTION public.intruder() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'ALTER TABLE messaging.outbox ADD COLUMN intruder text',
      'ALTER TABLE public.migrations RENAME TO intruder',
      'DROP TABLE messaging.inbox',
      'DROP SCHEMA messaging CASCADE',
      'DROP FUNCTION messaging.notify_outbox() CASCADE',
    ];
    for (const statement of statements) {
      const refusal = await runtime.query(statement).then(
        () => 'accepted',
        (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
      );
      expect({ statement, refusal }).toEqual({ statement, refusal: expect.stringMatching(new RegExp(`^${INSUFFICIENT_PRIVILEGE}: (permission denied|must be owner)`)) });
    }
  });

  it('does the services\' work as the runtime roles: an API is created and changed, notifications audits it, the read model is rebuilt', async () => {
    const endpoints = platform.service('endpoints').url;
    // The owner is the token's subject; a rebuild is an operator's.
    const owner = platform.asUser(randomUUID());
    const created = await httpJson<{ id: string }>('POST', `${endpoints}/apis`, { name: 'Roles', basePath: '/roles' }, owner);
    expect(created.status).toBe(201);
    const api = created.body.id;
    const added = await httpJson('POST', `${endpoints}/apis/${api}/endpoints`, { method: 'GET', path: '/roles', upstreamUrl: 'http://roles.internal' }, { ...owner, 'if-match': '"1"' });
    expect(added.status).toBe(201);

    const audit = await eventually(
      async () => {
        const response = await httpJson<{ change: string; path: string }[]>('GET', `${platform.service('notifications').url}/apis/${api}/audit`, undefined, owner);
        expect(response.body).toHaveLength(1);
        return response.body;
      },
      { timeoutMs: 20_000 },
    );
    expect(audit[0]).toMatchObject({ change: 'added', path: '/roles' });

    // A rebuild empties the read model (TRUNCATE, a row privilege) and replays the event store.
    const rebuilt = await httpJson('POST', `${endpoints}/projections/api-catalog/rebuild`, {}, platform.asOperator());
    expect(rebuilt.status).toBe(200);
    await eventually(async () => expect((await httpJson<{ version: number }>('GET', `${endpoints}/apis/${api}`, undefined, owner)).body).toMatchObject({ version: 2 }));
    await expectNoDeadLetters(platform.brokers, platform.namespace, ['endpoint-audit', 'endpoint-digest'].map((u) => `notifications.${u}`));
  });
});
