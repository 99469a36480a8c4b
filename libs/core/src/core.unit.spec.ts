import { sqlLiteral, withOpenedTransaction, withTransaction, type PooledSqlClient, type SqlPool } from './sql-client';

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

describe('withOpenedTransaction', () => {
  it('sends BEGIN and the opening statement as one query, and gives the work its result', async () => {
    const { pool, statements } = recordingPool();
    const opened = { rows: [{ id: 'a' }], rowCount: 1 };
    const client = await pool.connect();
    client.query = async (text: string) => {
      statements.push(text);
      return (text.startsWith('BEGIN;') ? [{ rows: [], rowCount: null }, opened] : { rows: [], rowCount: 0 }) as never;
    };
    const seen = await withOpenedTransaction(pool, 'INSERT 1', async (tx, result) => (await tx.query('INSERT 2'), result));
    expect(seen).toBe(opened);
    expect(statements).toEqual(['BEGIN; INSERT 1', 'INSERT 2', 'COMMIT']);
  });

  it('rolls back when the opening fails', async () => {
    const { pool, statements, released } = recordingPool('BEGIN; INSERT 1');
    await expect(withOpenedTransaction(pool, 'INSERT 1', async () => 'never')).rejects.toThrow('BEGIN; INSERT 1 failed');
    expect(statements).toEqual(['BEGIN; INSERT 1', 'ROLLBACK']);
    expect(released).toEqual([undefined]);
  });
});

describe('sqlLiteral', () => {
  it('quotes a value, doubling its quotes', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral(42)).toBe("'42'");
  });

  it('doubles backslashes under an E prefix, whatever standard_conforming_strings says', () => {
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
  });

  it('refuses a NUL character, which no PostgreSQL text can hold', () => {
    expect(() => sqlLiteral('a\u0000b')).toThrow('NUL');
  });
});
