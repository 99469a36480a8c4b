import type { Pool, PoolClient } from 'pg';
import type { MessageProducer, OutgoingMessage } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import { errorFields, type Logger } from '@platform/core';
import { OUTBOX_CHANNEL } from './outbox.schema';

export interface OutboxRelayOptions {
  readonly pool: Pool;
  /** Creates a fresh producer; called again after a failed send so no half-broken session is reused. */
  readonly producerFactory: () => Promise<MessageProducer>;
  readonly naming: KafkaNaming;
  readonly logger: Logger;
  /** Rows read and sent per round. */
  readonly batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (lost connection, missed wake-up). */
  readonly pollIntervalMs?: number;
  /** How often a standby relay tries to take over the lock. */
  readonly standbyRetryMs?: number;
  readonly maxBackoffMs?: number;
}

export interface OutboxRelayStats {
  readonly leader: boolean;
  readonly sent: number;
  readonly failures: number;
  readonly lastError?: string;
}

const READ_SQL = 'SELECT position, topic, message_key, headers, payload FROM messaging.outbox ORDER BY position LIMIT $1';
const DELETE_AND_READ_SQL = `WITH sent AS (DELETE FROM messaging.outbox WHERE position = ANY($1::bigint[]))
  SELECT position, topic, message_key, headers, payload FROM messaging.outbox
   WHERE position <> ALL($1::bigint[]) ORDER BY position LIMIT $2`;

interface OutboxRow {
  position: string;
  topic: string;
  message_key: string;
  headers: Record<string, string>;
  payload: string;
}

/** Rows per round from which the relay stops asking writers to NOTIFY and just keeps reading. */
const BUSY_THRESHOLD = 10;

/** Same key in every service database: one relay per database, whichever replica holds it. */
const RELAY_LOCK_KEY = 7_219_442_001;

/**
 * Moves outbox rows to Kafka in outbox order, in batches, through an idempotent producer.
 * One relay per database is active (session advisory lock); others stand by. Idle, it sleeps
 * until a writer's NOTIFY (or the fallback poll); busy, it keeps reading and tells writers
 * not to notify, because every notifying commit serializes on a cluster-wide lock. While Kafka is down it backs off and keeps the rows:
 * writes go on succeeding and the backlog drains when Kafka returns. Rows are deleted only
 * after Kafka acknowledged them, so a crash in between re-sends (consumers de-duplicate).
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly standbyRetryMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private loop?: Promise<void>;
  private leader?: PoolClient;
  /** Rows read by the last delete-and-read, to be sent next (only while leading). */
  private readAhead?: OutboxRow[];
  private producer?: MessageProducer;
  private wake?: () => void;
  private pendingWake = false;
  private waiting?: boolean;
  private stats_: { sent: number; failures: number; lastError?: string } = { sent: 0, failures: 0 };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.standbyRetryMs = options.standbyRetryMs ?? 2000;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.resign();
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  stats(): OutboxRelayStats {
    return { leader: this.leader !== undefined, ...this.stats_ };
  }

  /** Rows not yet acknowledged by Kafka. */
  async backlog(): Promise<number> {
    const { rows } = await this.options.pool.query<{ count: string }>('SELECT count(*)::text AS count FROM messaging.outbox');
    return Number(rows[0].count);
  }

  private async run(): Promise<void> {
    let consecutiveFailures = 0;
    while (this.running) {
      try {
        if (!this.leader && !(await this.tryLead())) {
          await this.idle(this.standbyRetryMs);
          continue;
        }
        const sent = await this.relayBatch();
        consecutiveFailures = 0;
        if (sent >= BUSY_THRESHOLD) await this.setWaiting(false);
        if (sent === 0 && (await this.readyToSleep())) await this.idle(this.pollIntervalMs);
      } catch (error) {
        consecutiveFailures += 1;
        this.stats_.failures += 1;
        this.stats_.lastError = (error as Error).message;
        const backoff = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(consecutiveFailures, 10));
        this.options.logger.warn('outbox relay failed; rows stay in the outbox and will be retried', {
          ...errorFields(error),
          attempt: consecutiveFailures,
          backoffMs: backoff,
        });
        await this.dropProducer();
        await this.idle(backoff);
      }
    }
  }

  private async tryLead(): Promise<boolean> {
    const client = await this.options.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK_KEY]);
      if (!rows[0].locked) {
        client.release();
        return false;
      }
      client.on('notification', () => this.notify());
      // A dropped connection also drops the lock: step down and let whoever gets it lead.
      client.on('error', (error) => {
        this.options.logger.warn('outbox relay lost its database connection', errorFields(error));
        if (this.leader === client) {
          this.leader = undefined;
          this.readAhead = undefined;
        }
        client.release(error);
      });
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.leader = client;
      this.options.logger.info('outbox relay is the active relay of this database');
      return true;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }

  private async resign(): Promise<void> {
    const client = this.leader;
    this.leader = undefined;
    this.readAhead = undefined;
    if (!client) return;
    try {
      await client.query(`UNLISTEN ${OUTBOX_CHANNEL}`);
      await client.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK_KEY]);
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
  }

  private async relayBatch(): Promise<number> {
    const { pool, naming } = this.options;
    const rows = this.readAhead ?? (await pool.query<OutboxRow>(READ_SQL, [this.batchSize])).rows;
    this.readAhead = undefined;
    if (rows.length === 0) return 0;
    const messages: OutgoingMessage[] = rows.map((row) => ({
      topic: naming.kafkaTopic(row.topic),
      key: row.message_key,
      value: row.payload,
      headers: row.headers,
    }));
    const positions = rows.map((row) => row.position);
    try {
      this.producer ??= await this.options.producerFactory();
      await this.producer.send(messages);
    } catch (error) {
      await pool
        .query('UPDATE messaging.outbox SET attempts = attempts + 1, last_error = $2 WHERE position = ANY($1::bigint[])', [
          positions,
          (error as Error).message,
        ])
        .catch(() => undefined);
      throw error;
    }
    // One round trip: the sent rows go, and the next batch is read (the statement's snapshot
    // still shows the deleted rows, hence the exclusion). A batch read ahead may miss a row a
    // writer commits meanwhile with a smaller position; it is sent with the batch after.
    this.readAhead = (await pool.query<OutboxRow>(DELETE_AND_READ_SQL, [positions, this.batchSize])).rows;
    this.stats_.sent += rows.length;
    return rows.length;
  }

  /**
   * Before sleeping: ask writers to NOTIFY again, then look once more, so a row committed
   * while we switched is not left waiting for the poll.
   */
  private async readyToSleep(): Promise<boolean> {
    await this.setWaiting(true);
    const { rows } = await this.options.pool.query('SELECT 1 FROM messaging.outbox LIMIT 1');
    return rows.length === 0;
  }

  private async setWaiting(waiting: boolean): Promise<void> {
    if (this.waiting === waiting) return;
    await this.options.pool.query('UPDATE messaging.relay_state SET waiting = $1 WHERE waiting <> $1', [waiting]);
    this.waiting = waiting;
  }

  private notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  private idle(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }
}
