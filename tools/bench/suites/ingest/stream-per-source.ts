import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '@platform/testing';
import { ingest, medianMs } from './measure';
import { message, MESSAGE_TYPE, outboxed, publisher, sourceId, SOURCES, storeOn } from './messages';
import type { VariantResult } from './plain-table';

const streamOf = (source: string) => `source-${source}`;

/**
 * (b) One stream per source key, the seed answer's "distribute across entities": nothing to
 * decide from (no invariant across messages), so no load, an append with expectedVersion 'any'
 * and the outbox row in one transaction, `writers` at a time.
 */
export async function streamPerSource(db: TestDatabase, count: number, writers: number): Promise<VariantResult> {
  const store = storeOn(db);
  try {
    const ingested = await ingest(count, writers, (i) =>
      store.transaction(async (tx) => {
        const payload = message(i);
        await tx.append(streamOf(payload.apiId), [{ id: randomUUID(), type: MESSAGE_TYPE, data: payload }]);
        await publisher.publishAll(tx.sql, outboxed(payload));
      }),
    );
    await db.pool.query('VACUUM ANALYZE event_store.events');
    let loaded = 0;
    const loadMs = await medianMs(21, async (run) => {
      loaded = (await store.readStream(streamOf(sourceId(run % SOURCES)))).length;
    });
    return { ...ingested, loadMs, loaded };
  } finally {
    store.close();
  }
}
