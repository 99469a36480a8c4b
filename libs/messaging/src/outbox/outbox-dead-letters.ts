import type { SqlClient } from '@platform/core';

/** An outbox row Kafka refused every time, as kept in messaging.outbox_dead_letters. */
export interface OutboxDeadLetter {
  /** The row's position in the outbox when it was refused (the `--id` of the CLI). */
  readonly position: string;
  readonly eventId: string;
  /** The logical topic, as in the outbox (without the Kafka namespace). */
  readonly topic: string;
  readonly key: string;
  /** The last refusal: Kafka's message, and its error code name (MESSAGE_TOO_LARGE, ...). */
  readonly error: string;
  readonly errorName: string;
  /** Sends Kafka refused. */
  readonly attempts: number;
  readonly createdAt: Date;
  readonly failedAt: Date;
}

/** Which dead letters to move back: all of them, or those at the given positions. */
export type OutboxDeadLetterSelection = { readonly all: true } | { readonly positions: readonly (string | number)[] };

const LIST_SQL = `SELECT position::text AS position, event_id::text AS "eventId", topic, message_key AS key, error,
                         error_name AS "errorName", attempts, created_at AS "createdAt", failed_at AS "failedAt"
                    FROM messaging.outbox_dead_letters ORDER BY position`;

/**
 * One statement, so one transaction: the rows leave the dead letters and enter the outbox
 * together, at its end (new positions, in their old order), with their attempts back at zero.
 * The outbox's insert trigger wakes the relay.
 */
const REDRIVE_SQL = `WITH moved AS (
    DELETE FROM messaging.outbox_dead_letters WHERE $1::bigint[] IS NULL OR position = ANY($1::bigint[])
    RETURNING position, event_id, topic, message_key, headers, payload, created_at
  )
  INSERT INTO messaging.outbox (event_id, topic, message_key, headers, payload, created_at)
  SELECT event_id, topic, message_key, headers, payload, created_at FROM moved ORDER BY position
  RETURNING position::text AS position`;

/** The outbox's dead letters in one service database: listed, counted, moved back to the outbox. */
export class OutboxDeadLetters {
  constructor(private readonly db: SqlClient) {}

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ count: string }>('SELECT count(*)::text AS count FROM messaging.outbox_dead_letters');
    return Number(rows[0].count);
  }

  /** Oldest first. */
  async list(): Promise<OutboxDeadLetter[]> {
    const { rows } = await this.db.query<OutboxDeadLetter>(LIST_SQL);
    return rows;
  }

  /**
   * Moves the selected dead letters back to the end of the outbox, in one transaction, and
   * returns their new positions. If Kafka still refuses one, it comes back here after its budget.
   */
  async redrive(selection: OutboxDeadLetterSelection): Promise<string[]> {
    const positions = 'all' in selection ? null : selection.positions.map(String);
    if (positions?.some((p) => !/^\d+$/.test(p))) throw new Error(`dead-letter positions are whole numbers, got ${positions.join(', ')}`);
    if (positions?.length === 0) return [];
    const { rows } = await this.db.query<{ position: string }>(REDRIVE_SQL, [positions]);
    return rows.map((row) => row.position);
  }
}
