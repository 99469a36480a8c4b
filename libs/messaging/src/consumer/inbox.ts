import type { ReceivedEnvelope } from '../envelope/envelope';
import type { SqlClient } from '@platform/core';

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

/** recordInInbox for several events in one statement; returns the ids recorded now (not seen before). */
export async function recordAllInInbox(tx: SqlClient, group: string, envelopes: readonly ReceivedEnvelope[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ event_id: string }>(
    `INSERT INTO messaging.inbox (consumer_group, event_id, topic, partition, "offset")
     SELECT $1, id, t, p, o FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[]) AS x(id, t, p, o)
     ON CONFLICT DO NOTHING
     RETURNING event_id::text`,
    [group, envelopes.map((e) => e.id), envelopes.map((e) => e.topic), envelopes.map((e) => e.partition), envelopes.map((e) => e.offset)],
  );
  return new Set(rows.map((r) => r.event_id));
}
