import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@platform/core';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore } from '@platform/event-store';
import { MESSAGING_MIGRATIONS, OutboxPublisher, RetriableError } from '@platform/messaging';
import type { Transactions } from '@platform/service-kit';
import { applySqlMigrations, createTestDatabase, inOwnTransaction, type TestDatabase } from '@platform/testing';
import type { PoolClient } from 'pg';
import { ApiCommands } from '../src/apis/api-commands';
import { API_CATALOG } from '../src/migrations/1764300000000-api-catalog';
import { API_RETENTION } from '../src/migrations/1764500000000-api-retention';
import { ApiRetirement } from '../src/retirement/api-retirement';
import { retirementStream } from '../src/retirement/retirement';

/**
 * Retirement and restoration of one closure's APIs, handled at the same time by the two use
 * cases (retire-apis and restore-apis, separate consumer groups), on real PostgreSQL: whatever
 * the interleaving, what is recorded matches what was done to the APIs.
 */
describe('ApiRetirement: retire and restore of one closure racing (PostgreSQL)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let apis: ApiCommands;
  let retirement: ApiRetirement;

  beforeAll(async () => {
    db = await createTestDatabase('retirement');
    await applySqlMigrations(db.pool, [...MESSAGING_MIGRATIONS, ...EVENT_STORE_MIGRATIONS, API_CATALOG, API_RETENTION]);
    store = new PostgresEventStore(db.pool);
    // Only executeIn (the caller's transaction) is used here, never the service's own transactions.
    apis = new ApiCommands(store, {} as Transactions, new OutboxPublisher('endpoints'));
    retirement = new ApiRetirement(store, apis);
  });

  afterAll(async () => {
    await db.drop();
  });

  const inTransaction = <T>(work: (sql: SqlClient) => Promise<T>, client?: PoolClient): Promise<T> => inOwnTransaction(db.pool, work, client);

  /** An owner with two active APIs, in the store and in the catalog the retirement lists them from. */
  async function ownerWithApis(): Promise<{ ownerId: string; apiIds: string[] }> {
    const ownerId = randomUUID();
    const apiIds = [randomUUID(), randomUUID()];
    await inTransaction(async (sql) => {
      for (const [i, apiId] of apiIds.entries()) {
        await apis.executeIn(sql, apiId, { type: 'CreateApi', apiId, ownerId, name: `API ${i}`, basePath: `/a${i}` }, { correlationId: 'test' });
        await sql.query(`INSERT INTO api_catalog VALUES ($1, $2, $3, $4, 'active', 0, 1, now())`, [apiId, ownerId, `API ${i}`, `/a${i}`]);
      }
    });
    return { ownerId, apiIds };
  }

  const statuses = (apiIds: string[]) => inTransaction((sql) => Promise.all(apiIds.map(async (id) => (await apis.load(sql, id)).state.status)));

  /** Like the inbox runtime: a transaction that failed as retriable is run again, fresh. */
  async function untilDone<T>(work: () => Promise<T>): Promise<{ result: T; retriableFailures: number }> {
    for (let retriableFailures = 0; ; retriableFailures++) {
      try {
        return { result: await work(), retriableFailures };
      } catch (error) {
        if (!(error instanceof RetriableError) || retriableFailures >= 5) throw error;
      }
    }
  }

  it('a restoration that read the closure before the retirement committed does not record a restoration it did not do', async () => {
    const { ownerId, apiIds } = await ownerWithApis();
    const closureId = randomUUID();
    const stream = retirementStream(closureId);

    // The restoration reads the closure's stream (nothing recorded yet) and is held right there...
    let readClosure!: () => void;
    const closureRead = new Promise<void>((resolve) => (readClosure = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let held = false;
    const restoreClient = await db.pool.connect();
    const heldAfterFirstRead: SqlClient = {
      query: async (text, values) => {
        const result = await restoreClient.query(text, values as unknown[]);
        if (!held && values?.includes(stream)) {
          held = true;
          readClosure();
          await resumed;
        }
        return result as never;
      },
    };
    const firstRestore = inTransaction(async () => retirement.restore(heldAfterFirstRead, closureId, ownerId, 'test'), restoreClient).then(
      () => 'restored' as const,
      (error: unknown) => error,
    );
    await closureRead;
    // ...while the retirement retires both APIs and commits.
    const retired = await inTransaction((sql) => retirement.retire(sql, closureId, ownerId, 'test'));
    expect(retired).toEqual({ outcome: 'retired', apiIds: [...apiIds].sort() });
    resume();

    // The held restoration decided on a stale read: it must fail as retriable, not record.
    expect(await firstRestore).toBeInstanceOf(RetriableError);
    const again = await untilDone(() => inTransaction((sql) => retirement.restore(sql, closureId, ownerId, 'test')));
    expect(again.result).toEqual({ outcome: 'restored', apiIds: [...apiIds].sort() });
    expect(await statuses(apiIds)).toEqual(['active', 'active']);
  });

  it('a retirement after the restoration retires nothing, and the APIs stay active', async () => {
    const { ownerId, apiIds } = await ownerWithApis();
    const closureId = randomUUID();
    await inTransaction((sql) => retirement.restore(sql, closureId, ownerId, 'test'));
    const late = await inTransaction((sql) => retirement.retire(sql, closureId, ownerId, 'test'));
    expect(late).toMatchObject({ outcome: 'refused', apiIds: [] });
    expect(await statuses(apiIds)).toEqual(['active', 'active']);
  });
});
