/**
 * The SQL that gives a service its database with two roles: a migrator that owns the database
 * and every schema object and runs the DDL (MIGRATION_DATABASE_URL), and a runtime role that
 * may only read and write rows (DATABASE_URL) and owns nothing, so a compromised or buggy
 * service can neither change nor drop its schema. One source for `npm start` and the test
 * platforms (provisionServiceDatabase), the compose init script and CloudNativePG's initdb.
 */
export interface ServiceDatabaseRoles {
  readonly database: string;
  /** Owns the database and what the migrations create. */
  readonly migrator: string;
  /** Rows only: SELECT, INSERT, UPDATE, DELETE, TRUNCATE; sequences; functions. */
  readonly runtime: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifiers(names: readonly string[]): void {
  for (const name of names) if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a plain lower-case SQL identifier`);
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Run by a superuser on any database of the cluster, once the roles exist: the database, owned by the migrator, closed to everyone else. */
export function databaseSql({ database, migrator, runtime }: ServiceDatabaseRoles): string[] {
  assertIdentifiers([database, migrator, runtime]);
  return [
    `CREATE DATABASE ${database} OWNER ${migrator};`,
    `REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`,
    `GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${migrator};`,
    `GRANT CONNECT ON DATABASE ${database} TO ${runtime};`,
  ];
}

/**
 * Run by a superuser inside the service's database. Default privileges cover every schema,
 * table, sequence and function the migrator creates later, so a new migration needs no grant
 * of its own. TRUNCATE is a row privilege (a projection rebuild empties its read model with
 * it), not ownership: the runtime role still cannot create, alter or drop anything.
 */
export function runtimePrivilegesSql({ migrator, runtime }: ServiceDatabaseRoles): string[] {
  assertIdentifiers([migrator, runtime]);
  const defaults = `ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator}`;
  return [
    `ALTER SCHEMA public OWNER TO ${migrator};`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA public TO ${runtime};`,
    `${defaults} GRANT USAGE ON SCHEMAS TO ${runtime};`,
    `${defaults} GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ${runtime};`,
    `${defaults} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};`,
    `${defaults} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;`,
    `${defaults} GRANT EXECUTE ON FUNCTIONS TO ${runtime};`,
  ];
}
