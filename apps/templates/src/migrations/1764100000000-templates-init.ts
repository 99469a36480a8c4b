import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TemplatesInit1764100000000 implements MigrationInterface {
  readonly name = 'TemplatesInit1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE templates (
        id         uuid PRIMARY KEY,
        name       text NOT NULL UNIQUE,
        channel    text NOT NULL,
        subject    text NOT NULL,
        body       text NOT NULL,
        revision   integer NOT NULL CHECK (revision >= 1),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE templates');
  }
}
