import { databaseName, databaseRole } from '../settings';
import { GENERATED_HEADER } from '../render/yaml';

/**
 * Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d): a
 * database and a login role per service, the role owning its database and nobody else allowed
 * to connect, as `npm start` provisions locally. The password is the role name: this stack is
 * for a laptop, never for shared environments.
 */
export function initDatabasesSql(services: readonly string[]): string {
  const blocks = services.map((service) => {
    const db = databaseName(service);
    const role = databaseRole(service);
    return [
      `CREATE ROLE ${role} LOGIN PASSWORD '${role}';`,
      `CREATE DATABASE ${db} OWNER ${role};`,
      `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
      `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role};`,
    ].join('\n');
  });
  return `-- ${GENERATED_HEADER}\n${blocks.join('\n\n')}\n`;
}
