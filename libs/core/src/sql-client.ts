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
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg-pool drops its own 'error' listener while a client is checked out: without one of ours, a
  // connection dropped mid-transaction (a database restart) is an unhandled 'error' event that
  // kills the process. The failing query rejects anyway; the client is released as broken.
  const onError = (error: Error) => (broken = error);
  client.on?.('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
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
