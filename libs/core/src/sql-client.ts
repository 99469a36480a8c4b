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

/**
 * Statements waiting for the COMMIT of the transaction a helper of this module runs on a client.
 * Keyed by the client the helper hands to its work, which is what callers pass on as `tx`.
 */
const sentWithCommit = new WeakMap<SqlClient, string[]>();

/**
 * Sends `statement` (one statement without parameters: its values written in with sqlLiteral)
 * with the COMMIT of the transaction running on `tx`, in COMMIT's round trip, when that
 * transaction is one withTransaction or withOpenedTransaction runs; they run in the order they
 * were given, and a failing one fails the commit. False, with nothing done, when `tx` is a
 * transaction of the caller's own (a TypeORM query runner's connection): the caller runs it then.
 * On a busy machine each round trip is a wait for the database's turn on a core: a transaction
 * that ends with an insert nobody reads before the commit (an outbox row) need not wait twice.
 */
export function sendWithCommit(tx: SqlClient, statement: string): boolean {
  const statements = sentWithCommit.get(tx);
  statements?.push(statement);
  return statements !== undefined;
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
  const withCommit: string[] = [];
  sentWithCommit.set(client, withCommit);
  try {
    const result = await run(client);
    // One simple query: PostgreSQL stops at the first statement that fails, and the catch rolls back.
    await client.query(withCommit.length === 0 ? 'COMMIT' : `${withCommit.join(';\n')};\nCOMMIT`);
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    sentWithCommit.delete(client);
    client.off?.('error', onError);
    client.release(broken);
  }
}
