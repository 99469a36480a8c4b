import { randomUUID } from 'node:crypto';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, type EventMetadata, type NewEvent } from '../../src';

export interface StoreDatabase {
  readonly db: TestDatabase;
  readonly store: PostgresEventStore;
  close(): Promise<void>;
}

/** A throwaway database with the event store's migrations applied, and a store on it. */
export async function storeDatabase(prefix: string, { poolSize = 10 } = {}): Promise<StoreDatabase> {
  const db = await createTestDatabase(`es_${prefix}`, { poolSize });
  await applySqlMigrations(db.pool, EVENT_STORE_MIGRATIONS);
  const store = new PostgresEventStore(db.pool);
  return {
    db,
    store,
    close: async () => {
      store.close();
      await db.drop();
    },
  };
}

export function newEvent<T>(type: string, data: T, metadata?: EventMetadata): NewEvent<T> {
  return { id: randomUUID(), type, data, ...(metadata ? { metadata } : {}) };
}

export function stream(prefix = 'stream'): string {
  return `${prefix}-${randomUUID()}`;
}
