/**
 * Creates (idempotently) one database and two roles per service on the server DATABASE_URL
 * points at (an admin connection): <service>_migrator owns the schema and runs the migrations,
 * <service>_svc only reads and writes rows. Prints each service's two connection strings as
 * JSON ({ "users": { "url": ..., "migrationUrl": ... } }). Passwords are the role names unless
 * <SERVICE>_DB_PASSWORD / <SERVICE>_MIGRATOR_DB_PASSWORD say otherwise: development ones, which
 * a service started with NODE_ENV=production refuses.
 *   tsx tools/platform/provision.ts [--prefix platform]
 */
import { adminDatabaseUrl, provisionServiceDatabase } from '@platform/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Catalog {
  services: { name: string; port: number }[];
}

async function main(): Promise<void> {
  const prefixArg = process.argv.indexOf('--prefix');
  const prefix = prefixArg > 0 ? process.argv[prefixArg + 1] : 'platform';
  const { services } = JSON.parse(readFileSync(join(__dirname, 'services.json'), 'utf8')) as Catalog;
  const urls: Record<string, { url: string; migrationUrl: string }> = {};
  for (const { name } of services) {
    const [runtime, migrator] = [`${name}_svc`, `${name}_migrator`];
    const variable = name.toUpperCase().replace(/-/g, '_');
    const db = await provisionServiceDatabase({
      database: `${prefix}_${name}`,
      runtime: { role: runtime, password: process.env[`${variable}_DB_PASSWORD`] ?? runtime },
      migrator: { role: migrator, password: process.env[`${variable}_MIGRATOR_DB_PASSWORD`] ?? migrator },
    });
    urls[name] = { url: db.url, migrationUrl: db.migrationUrl };
    process.stderr.write(`[provision] ${db.database} owned by ${db.migrationRole}, used by ${db.role}\n`);
  }
  process.stdout.write(JSON.stringify(urls) + '\n');
}

main().catch((error) => {
  process.stderr.write(`[provision] cannot provision databases on ${adminDatabaseUrl()}: ${(error as Error).message}\n`);
  process.exit(1);
});
