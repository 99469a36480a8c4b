import { withTransaction } from '@platform/core';
import { sleep } from '@platform/testing';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

/** Found by the chaos run: a database restart mid-transaction killed the process with an unhandled 'error' event. */
describe('a connection dropped in the middle of a transaction', () => {
  let h: MessagingHarness;

  beforeAll(async () => {
    h = await messagingHarness('dropped');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('fails that transaction and nothing else', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const attempt = withTransaction(h.db.pool, async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await h.db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        await sleep(300); // the client learns of it while idle in the transaction: an 'error' event
        await tx.query('SELECT 1');
      });
      await expect(attempt).rejects.toThrow();
      await sleep(200);
      expect(uncaught).toEqual([]);
      // The pool recovers: the next transaction works on a fresh connection.
      expect(await withTransaction(h.db.pool, async (tx) => (await tx.query<{ one: number }>('SELECT 1 AS one')).rows[0].one)).toBe(1);
    } finally {
      process.off('uncaughtException', record);
    }
  });
});
