import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NotificationsInit1764100000000 implements MigrationInterface {
  readonly name = 'NotificationsInit1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE template_cache (
        template_id uuid PRIMARY KEY,
        name        text NOT NULL,
        channel     text NOT NULL,
        subject     text NOT NULL,
        body        text NOT NULL,
        revision    integer NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX template_cache_by_name ON template_cache (name, revision DESC);

      CREATE TABLE notifications (
        id                uuid PRIMARY KEY,
        user_id           uuid NOT NULL,
        kind              text NOT NULL,
        channel           text NOT NULL,
        subject           text NOT NULL,
        body              text NOT NULL,
        template_id       uuid,
        template_revision integer,
        caused_by         uuid NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX notifications_by_user ON notifications (user_id, created_at);`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE notifications; DROP TABLE template_cache;');
  }
}
