import type { ReceivedEnvelope } from '../envelope/envelope';
import type { SqlClient } from '../sql/sql-client';

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
