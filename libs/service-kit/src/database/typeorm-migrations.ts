import type { MigrationInterface, QueryRunner } from 'typeorm';

interface SqlMigrationLike {
  readonly id: string;
  readonly up: string;
  readonly down: string;
}

type MigrationClass = new () => MigrationInterface;

/**
 * Wraps plain-SQL migrations of the libraries (outbox, inbox, event store) as TypeORM
 * migrations, so one migration table per service database records them beside the service's
 * own. TypeORM orders migrations by the 13-digit timestamp that ends their name.
 */
export function typeOrmMigrations(migrations: readonly SqlMigrationLike[]): MigrationClass[] {
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
