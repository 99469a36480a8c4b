/**
 * Creates (idempotently) one database and one role per service on the server DATABASE_URL
 * points at (an admin connection), and prints each service's own connection string as JSON.
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
  const urls: Record<string, string> = {};
  for (const { name } of services) {
    const role = `${name}_svc`;
    const db = await provisionServiceDatabase({ database: `${prefix}_${name}`, role, password: process.env[`${name.toUpperCase()}_DB_PASSWORD`] ?? role });
    urls[name] = db.url;
    process.stderr.write(`[provision] ${db.database} owned by ${db.role}\n`);
  }
  process.stdout.write(JSON.stringify(urls) + '\n');
}

main().catch((error) => {
  process.stderr.write(`[provision] cannot provision databases on ${adminDatabaseUrl()}: ${(error as Error).message}\n`);
  process.exit(1);
});
