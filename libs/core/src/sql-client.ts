/**
 * The slice of node-postgres the libraries need. A `pg.Pool`, a `pg.PoolClient` and the
 * connection under a TypeORM query runner all satisfy it, so a caller's own transaction can
 * be handed in as is: that is what makes outbox rows and event-store appends commit together
 * with the caller's own writes.
 */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface PooledSqlClient extends SqlClient {
  release(error?: Error | boolean): void;
  /** node-postgres clients emit 'error' when their connection drops while checked out. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  off?(event: 'error', listener: (error: Error) => void): unknown;
}

export interface SqlPool extends SqlClient {
  connect(): Promise<PooledSqlClient>;
}

/** Runs `work` in one transaction on a connection of its own; rolls back if it throws. */
export async function withTransaction<T>(pool: SqlPool, work: (tx: SqlClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => (await client.query('BEGIN'), work(client)));
}

/** What a statement of the simple query protocol returned: its rows and how many it touched. */
export interface StatementResult<R extends object> {
  readonly rows: R[];
  readonly rowCount: number | null;
}

/**
 * withTransaction whose BEGIN travels with `opening`, one statement with its values written in
 * (sqlLiteral), in one round trip; `work` gets what the opening returned. On a busy machine each
 * round trip is a wait for the database's turn on a core, so a transaction that always starts
 * with the same statement (a consumer's inbox record) saves one of its waits.
 */
export async function withOpenedTransaction<T, R extends object = Record<string, unknown>>(
  pool: SqlPool,
  opening: string,
  work: (tx: SqlClient, opened: StatementResult<R>) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    // Two statements and no values: node-postgres sends them as one simple query and returns each one's result.
    const results = (await client.query(`BEGIN; ${opening}`)) as unknown as StatementResult<R>[];
    return work(client, results[1]);
  });
}

/**
 * A value written into a statement as a string literal, for statements that must travel without
 * parameters (withOpenedTransaction's opening); PostgreSQL casts it to the column's type. Escaped
 * as node-postgres escapes literals: quotes doubled, and backslashes too under an E'' prefix.
 */
export function sqlLiteral(value: string | number | bigint): string {
  const text = String(value);
  if (text.includes('\u0000')) throw new Error('a SQL literal cannot hold a NUL character');
  const quoted = `'${text.replace(/'/g, "''").replace(/\\/g, '\\\\')}'`;
  return text.includes('\\') ? ` E${quoted}` : quoted;
}

async function inTransaction<T>(pool: SqlPool, run: (client: PooledSqlClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg-pool drops its own 'error' listener while a client is checked out: without one of ours, a
  // connection dropped mid-transaction (a database restart) is an unhandled 'error' event that
  // kills the process. The failing query rejects anyway; the client is released as broken.
  const onError = (error: Error) => (broken = error);
  client.on?.('error', onError);
  try {
    const result = await run(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.off?.('error', onError);
    client.release(broken);
  }
}
