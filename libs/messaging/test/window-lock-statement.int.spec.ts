import { withOpenedTransaction } from '@platform/core';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MESSAGING_MIGRATIONS } from '../src';
import { dueWindows, lockDueWindowsStatement, type DueWindow, type DueWindowRow } from '../src/windowing/window-store';

jest.setTimeout(60_000);

/** The lock of due windows that opens a closing transaction, its values written into the statement. */
describe('the due-window lock sent with BEGIN (real PostgreSQL)', () => {
  let db: TestDatabase;
  const group = `it's a \\group\\ '; DROP TABLE messaging.windows; --`;
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);

  beforeAll(async () => {
    db = await createTestDatabase('window_lock_statement');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
    // Closed at now - 300, now - 200, now - 100 (due); now + 100 (not yet); one of another group (due).
    await db.pool.query(
      `INSERT INTO messaging.windows (consumer_group, window_key, window_start, window_end, close_at)
       SELECT g, k, to_timestamp((c - 600) / 1000.0), to_timestamp((c - 100) / 1000.0), to_timestamp(c / 1000.0)
         FROM unnest($1::text[], $2::text[], $3::float8[]) AS w(g, k, c)`,
      [[group, group, group, group, 'other'], ["o'key-1", 'key-2', 'key-3', 'later', 'elsewhere'], [now - 300, now - 200, now - 100, now + 100, now - 300]],
    );
  });

  afterAll(async () => {
    await db?.drop();
  });

  const lock = (limit: number, work: (windows: DueWindow[]) => Promise<void> = async () => undefined) =>
    withOpenedTransaction<DueWindow[], DueWindowRow>(db.pool, lockDueWindowsStatement(group, now, limit, false), async (_tx, opened) => {
      const windows = dueWindows(opened.rows);
      await work(windows);
      return windows;
    });

  it("locks the group's due windows in close order, up to the limit, with a name that quotes and escapes", async () => {
    const windows = await lock(10);
    expect(windows.map((w) => [w.key, w.closeAt, w.end - w.start, w.attempts])).toEqual([
      ["o'key-1", now - 300, 500, 0],
      ['key-2', now - 200, 500, 0],
      ['key-3', now - 100, 500, 0],
    ]);
    expect((await lock(2)).map((w) => w.key)).toEqual(["o'key-1", 'key-2']);
  });

  it('skips windows another transaction holds, and holds its own until it ends', async () => {
    let inner: DueWindow[] = [];
    const outer = await lock(1, async () => {
      inner = await lock(10);
    });
    expect(outer.map((w) => w.key)).toEqual(["o'key-1"]);
    expect(inner.map((w) => w.key)).toEqual(['key-2', 'key-3']);
  });

  it('refuses a time or limit that is not a number', () => {
    expect(() => lockDueWindowsStatement(group, Number.NaN, 1, false)).toThrow(TypeError);
    expect(() => lockDueWindowsStatement(group, now, 1.5, false)).toThrow(TypeError);
  });
});
