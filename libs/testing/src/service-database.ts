import { Client } from 'pg';
import { adminDatabaseUrl } from './postgres';

export interface ServiceDatabase {
  readonly database: string;
  readonly role: string;
  /** Connection string as the service's own role. */
  readonly url: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * One database and one login role per service, the role owning the database and nobody else
 * allowed to connect to it (superusers aside): a service cannot reach another's data.
 * Idempotent, for `npm start` on every run and for end-to-end tests.
 */
export async function provisionServiceDatabase(
  spec: { database: string; role: string; password: string },
  adminUrl: string = adminDatabaseUrl(),
): Promise<ServiceDatabase> {
  for (const name of [spec.database, spec.role]) {
    if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a plain lower-case SQL identifier`);
  }
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [spec.role]);
    const password = `PASSWORD ${quoteLiteral(spec.password)}`;
    await admin.query(role.rowCount === 0 ? `CREATE ROLE ${spec.role} LOGIN ${password}` : `ALTER ROLE ${spec.role} LOGIN ${password}`);
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [spec.database]);
    if (db.rowCount === 0) await admin.query(`CREATE DATABASE ${spec.database} OWNER ${spec.role}`);
    await admin.query(`REVOKE ALL ON DATABASE ${spec.database} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${spec.database} TO ${spec.role}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.username = spec.role;
  url.password = spec.password;
  url.pathname = `/${spec.database}`;
  return { database: spec.database, role: spec.role, url: url.toString() };
}
