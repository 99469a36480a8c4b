interface Queryable {
  query(text: string): Promise<unknown>;
}

/** Applies SQL migrations in id order: for library tests that run without a service around them. */
export async function applySqlMigrations(pool: Queryable, migrations: readonly { readonly id: string; readonly up: string }[]): Promise<void> {
  for (const migration of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    await pool.query(migration.up);
  }
}
