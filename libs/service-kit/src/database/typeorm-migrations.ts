import type { SqlMigration } from '@platform/core';
import type { MigrationInterface, QueryRunner } from 'typeorm';

type MigrationClass = new () => MigrationInterface;

/**
 * Wraps plain-SQL migrations (the libraries' and the service's own) as TypeORM migrations, so
 * one migration table per service database records them all. TypeORM orders migrations by the
 * 13-digit timestamp that ends their name.
 */
export function typeOrmMigrations(migrations: readonly SqlMigration[]): MigrationClass[] {
  return migrations.map((migration) => {
    const match = /^(\d{13})-([a-z0-9-]+)$/.exec(migration.id);
    if (!match) throw new Error(`migration id "${migration.id}" must be <13-digit timestamp>-<kebab-name>`);
    const name = match[2].replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase()) + match[1];
    return class implements MigrationInterface {
      readonly name = name;
      async up(runner: QueryRunner): Promise<void> {
        await runner.query(migration.up);
      }
      async down(runner: QueryRunner): Promise<void> {
        await runner.query(migration.down);
      }
    };
  });
}
