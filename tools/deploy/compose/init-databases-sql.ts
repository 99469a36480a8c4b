import { databaseSql, runtimePrivilegesSql } from '@platform/testing';
import { databaseName, databaseRole, migrationRole } from '../settings';
import { GENERATED_HEADER } from '../render/yaml';

/**
 * Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d, through
 * psql): per service a database owned by its migration role, which runs the migrations, and a
 * runtime role that may only read and write rows; nobody else may connect. The same statements
 * `npm start` provisions with. The passwords are the role names: this stack is for a laptop,
 * never for shared environments (a service with NODE_ENV=production refuses them).
 */
export function initDatabasesSql(services: readonly string[]): string {
  const blocks = services.map((service) => {
    const roles = { database: databaseName(service), migrator: migrationRole(service), runtime: databaseRole(service) };
    return [
      `CREATE ROLE ${roles.migrator} LOGIN PASSWORD '${roles.migrator}';`,
      `CREATE ROLE ${roles.runtime} LOGIN PASSWORD '${roles.runtime}';`,
      ...databaseSql(roles),
      `\\connect ${roles.database}`,
      ...runtimePrivilegesSql(roles),
      '\\connect postgres',
    ].join('\n');
  });
  return `-- ${GENERATED_HEADER}\n${blocks.join('\n\n')}\n`;
}
