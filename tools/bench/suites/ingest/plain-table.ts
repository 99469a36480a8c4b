import { withTransaction } from '@platform/core';
import type { TestDatabase } from '@platform/testing';
import { ingest, medianMs, type Ingested } from './measure';
import { message, outboxed, publisher, sourceId, SOURCES } from './messages';

/** What a team builds by hand: one row per message, found by source, and its outbox row in the same transaction. */
const MESSAGES_TABLE = `CREATE TABLE ingested_messages (
    position    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id   uuid        NOT NULL,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE INDEX ingested_messages_source ON ingested_messages (source_id, position)`;

export interface VariantResult extends Ingested {
  /** Median time to load the entity at the end (ms). */
  readonly loadMs: number;
  /** Messages the load read. */
  readonly loaded: number;
}

/** (c) Rows of a plain table plus the outbox row: `writers` concurrent transactions. */
export async function plainTable(db: TestDatabase, count: number, writers: number): Promise<VariantResult> {
  await db.pool.query(MESSAGES_TABLE);
  const ingested = await ingest(count, writers, (i) =>
    withTransaction(db.pool, async (tx) => {
      const payload = message(i);
      await tx.query('INSERT INTO ingested_messages (source_id, payload) VALUES ($1, $2)', [payload.apiId, JSON.stringify(payload)]);
      await publisher.publishAll(tx, outboxed(payload));
    }),
  );
  await db.pool.query('VACUUM ANALYZE ingested_messages');
  let loaded = 0;
  const loadMs = await medianMs(21, async (run) => {
    const { rows } = await db.pool.query('SELECT position, payload, received_at FROM ingested_messages WHERE source_id = $1 ORDER BY position', [sourceId(run % SOURCES)]);
    loaded = rows.length;
  });
  return { ...ingested, loadMs, loaded };
}
