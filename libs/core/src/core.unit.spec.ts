import { withTransaction, type PooledSqlClient, type SqlPool } from './sql-client';

/** A pool that records statements; `failOn` makes one statement throw. */
function recordingPool(failOn?: string) {
  const statements: string[] = [];
  const released: unknown[] = [];
  const client: PooledSqlClient = {
    query: async (text: string) => {
      statements.push(text);
      if (text === failOn) throw new Error(`${text} failed`);
      return { rows: [], rowCount: 0 };
    },
    release: (error?: Error | boolean) => void released.push(error),
  };
  const pool = { connect: async () => client, query: client.query } as SqlPool;
  return { pool, statements, released };
}

describe('withTransaction', () => {
  it('commits what the work did and gives the connection back', async () => {
    const { pool, statements, released } = recordingPool();
    expect(await withTransaction(pool, async (tx) => (await tx.query('INSERT 1'), 'done'))).toBe('done');
    expect(statements).toEqual(['BEGIN', 'INSERT 1', 'COMMIT']);
    expect(released).toEqual([undefined]);
  });

  it('rolls back and rethrows when the work throws', async () => {
    const { pool, statements, released } = recordingPool('INSERT 1');
    await expect(withTransaction(pool, (tx) => tx.query('INSERT 1'))).rejects.toThrow('INSERT 1 failed');
    expect(statements).toEqual(['BEGIN', 'INSERT 1', 'ROLLBACK']);
    expect(released).toEqual([undefined]);
  });

  it('destroys a connection whose rollback failed instead of pooling it', async () => {
    const { pool, released } = recordingPool('ROLLBACK');
    await expect(withTransaction(pool, async () => Promise.reject(new Error('work failed')))).rejects.toThrow('work failed');
    expect(released[0]).toBeInstanceOf(Error);
  });
});
