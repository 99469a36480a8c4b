/**
 * A schema change as plain SQL, so the libraries stay ORM-free; service-kit turns these into
 * TypeORM migrations that run at service start beside the service's own.
 */
export interface SqlMigration {
  /** Unique and ordered: `<13-digit timestamp>-<kebab name>`. */
  readonly id: string;
  readonly up: string;
  readonly down: string;
}
