import { Client } from 'pg';
import { adminDatabaseUrl, databaseUrl } from './postgres';
import { assertIdentifiers, databaseSql, quoteLiteral, runtimePrivilegesSql, type ServiceDatabaseRoles } from './service-database-sql';

export interface RoleLogin {
  readonly role: string;
  readonly password: string;
}

export interface ServiceDatabaseSpec {
  readonly database: string;
  /** The service's runtime role: DATABASE_URL. */
  readonly runtime: RoleLogin;
  /** The role that owns the schema and runs the migrations: MIGRATION_DATABASE_URL. */
  readonly migrator: RoleLogin;
}

export interface ServiceDatabase {
  readonly database: string;
  /** The runtime role. */
  readonly role: string;
  /** Connection string as the runtime role (DATABASE_URL). */
  readonly url: string;
  readonly migrationRole: string;
  /** Connection string as the migrator (MIGRATION_DATABASE_URL). */
  readonly migrationUrl: string;
}

/**
 * One database per service and two login roles (see service-database-sql.ts), nobody else
 * allowed to connect to it (superusers aside): a service cannot reach another's data, and its
 * runtime role cannot change its schema. Idempotent, for `npm start` on every run and for the
 * test platforms; a database of the earlier layout (owned by the runtime role) is handed over to
 * the migrator, and what the runtime role created is granted back to it.
 */
export async function provisionServiceDatabase(spec: ServiceDatabaseSpec, adminUrl: string = adminDatabaseUrl()): Promise<ServiceDatabase> {
  const roles: ServiceDatabaseRoles = { database: spec.database, migrator: spec.migrator.role, runtime: spec.runtime.role };
  assertIdentifiers([roles.database, roles.migrator, roles.runtime]);
  if (roles.migrator === roles.runtime) throw new Error('the migrator and the runtime role must be two roles');
  let earlierLayout = false;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const { role, password } of [spec.migrator, spec.runtime]) {
      const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      await admin.query(`${exists.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE ${role} LOGIN PASSWORD ${quoteLiteral(password)}`);
    }
    const [create, ...access] = databaseSql(roles);
    const db = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [roles.database]);
    earlierLayout = db.rows[0]?.owner === roles.runtime;
    if (db.rowCount === 0) await admin.query(create);
    // Before the grants: a change of owner hands the old owner's own privileges to the new one.
    else await admin.query(`ALTER DATABASE ${roles.database} OWNER TO ${roles.migrator}`);
    for (const statement of access) await admin.query(statement);
  } finally {
    await admin.end();
  }
  await inDatabase(databaseUrl(roles.database, adminUrl), async (client) => {
    // The earlier layout: the runtime role owned the database and everything in it. REASSIGN
    // also hands the migrator other databases the runtime role owns, so only then.
    if (earlierLayout) await client.query(`REASSIGN OWNED BY ${roles.runtime} TO ${roles.migrator}`);
    // What exists already is granted here; default privileges cover what the migrations create later.
    for (const statement of runtimePrivilegesSql(roles)) await client.query(statement);
    const { rows } = await client.query<{ schema: string }>(
      `SELECT nspname AS schema FROM pg_namespace WHERE nspowner = $1::regrole AND nspname <> 'public'`,
      [roles.migrator],
    );
    for (const schema of ['public', ...rows.map((r) => r.schema)]) {
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${roles.runtime}`);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${schema} TO ${roles.runtime}`);
      await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${roles.runtime}`);
      await client.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${roles.runtime}`);
    }
  });
  const loginUrl = ({ role, password }: RoleLogin) => {
    const url = new URL(databaseUrl(roles.database, adminUrl));
    url.username = role;
    url.password = password;
    return url.toString();
  };
  return { database: roles.database, role: roles.runtime, url: loginUrl(spec.runtime), migrationRole: roles.migrator, migrationUrl: loginUrl(spec.migrator) };
}

async function inDatabase(url: string, work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** The two roles of a service and their development passwords (each role's own name), as `npm start` and compose use them. */
export function developmentLogins(runtime: string, migrator: string): Pick<ServiceDatabaseSpec, 'runtime' | 'migrator'> {
  return { runtime: { role: runtime, password: runtime }, migrator: { role: migrator, password: migrator } };
}
