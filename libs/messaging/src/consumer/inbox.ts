import type { ReceivedEnvelope } from '../envelope/envelope';
import { sqlLiteral, type SqlClient } from '@platform/core';

/**
 * Records that `group` handled the event, inside the handler's transaction. Returns false
 * when it was already recorded: a redelivery, whose effects are already committed.
 */
export async function recordInInbox(tx: SqlClient, group: string, envelope: ReceivedEnvelope): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO messaging.inbox (consumer_group, event_id, topic, partition, "offset")
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [group, envelope.id, envelope.topic, envelope.partition, envelope.offset],
  );
  return rowCount === 1;
}

/**
 * Deletes up to `batch` inbox records of the group handled before `handledBeforeMs`; returns
 * how many went. Records are kept as long as Kafka could deliver their event again.
 */
export async function pruneInbox(client: SqlClient, group: string, handledBeforeMs: number, batch: number): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM messaging.inbox i
      WHERE i.ctid = ANY (ARRAY(
        SELECT x.ctid FROM messaging.inbox x
         WHERE x.handled_at < to_timestamp($2 / 1000.0) AND x.consumer_group = $1
         LIMIT $3))`,
    [group, handledBeforeMs, batch],
  );
  return rowCount ?? 0;
}

/**
 * The statement that records events in the inbox, their values written in (it opens a consumer's
 * transaction, sent with BEGIN in one round trip); it returns the ids recorded now, not seen before.
 */
export function inboxRecordStatement(group: string, envelopes: readonly ReceivedEnvelope[]): string {
  const rows = envelopes.map((e) => `(${[group, e.id, e.topic, e.partition, e.offset].map(sqlLiteral).join(', ')})`);
  return `INSERT INTO messaging.inbox (consumer_group, event_id, topic, partition, "offset") VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING RETURNING event_id::text`;
}
