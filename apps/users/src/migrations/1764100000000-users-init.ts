import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UsersInit1764100000000 implements MigrationInterface {
  readonly name = 'UsersInit1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE users (
        id           uuid PRIMARY KEY,
        email        text NOT NULL UNIQUE,
        display_name text NOT NULL,
        status       text NOT NULL CHECK (status IN ('active', 'deactivated')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE users');
  }
}
