import { Client, type Pool } from 'pg';
import type { MessageProducer, OutgoingMessage } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import type { Span } from '@opentelemetry/api';
import { backoffDelayMs, errorFields, errorMessage, traceparentOf, validateBackoff, withTransaction, type Backoff, type Logger, type SqlClient } from '@platform/core';
import { endSpan, startSendSpan } from '../tracing/messaging-spans';
import { OUTBOX_CHANNEL } from './outbox.schema';
import { OutboxDeadLetters } from './outbox-dead-letters';
import { RelayTraffic } from './relay-traffic';
import { judgeSendFailure, type SendFailure } from './send-failure';
import { COUNT_REFUSALS_SQL, DEAD_LETTER_SQL, DELETE_AND_READ_SQL, DELETE_SQL, READ_SKIPPING_SQL, READ_SQL, RELAY_LOCK_KEY } from './relay-statements';

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
  /**
   * Rows a second from which writers stop notifying and the relay polls instead (default 100):
   * notifying commits serialize on a cluster-wide lock held through their WAL flush.
   */
  readonly busyRowsPerSecond?: number;
  /** While busy, how long the relay waits before reading again an outbox it found empty (default 5 ms). */
  readonly busyPollMs?: number;
  /** How often a standby relay tries to take over the lock; also how long a relay that lost it waits before trying again. */
  readonly standbyRetryMs?: number;
  /** Cap of the back-off, both while Kafka is away and between the sends of a row Kafka refuses. */
  readonly maxBackoffMs?: number;
  /**
   * Sends of one row Kafka refuses (too large for its topic, topic gone, not authorized) before
   * the row moves to messaging.outbox_dead_letters. A broker that is away never counts.
   */
  readonly maxAttempts?: number;
  /**
   * How long a statement on the connection that holds the lock (taking it, LISTEN) may take
   * before the relay gives that connection up for dead and steps down; also how long it waits
   * for that connection to close.
   */
  readonly leaderCheckTimeoutMs?: number;
}

export interface OutboxRelayStats {
  readonly leader: boolean;
  readonly sent: number;
  /** Rounds that failed because Kafka (or the database) was away. */
  readonly failures: number;
  /** Sends of a row that Kafka refused; each counts against that row's budget. */
  readonly refused: number;
  /** Rows this relay moved to messaging.outbox_dead_letters. */
  readonly deadLettered: number;
  readonly lastError?: string;
}

interface OutboxRow {
  position: string;
  topic: string;
  message_key: string;
  headers: Record<string, string>;
  payload: string;
  /** Sends Kafka refused so far. */
  attempts: number;
}

/** What one round did with the rows it read. */
interface Round {
  readonly sent: OutboxRow[];
  readonly refused: { readonly row: OutboxRow; readonly failure: SendFailure }[];
  /** Topic and key of each row refused in this round: the rows of that key behind it wait. */
  readonly held: Set<string>;
}

/** A refused row waiting for its next attempt, and the key it holds up. */
interface Retry {
  readonly topic: string;
  readonly key: string;
  readonly dueAt: number;
}

/** TCP keep-alive of the lock connection, both ends: a dead peer is found in seconds, not hours. */
const KEEPALIVE_IDLE_MS = 5000;
const SERVER_KEEPALIVE_SQL = 'SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3';

const holdKey = (row: { topic: string; message_key: string }) => `${row.topic}\u0000${row.message_key}`;

/** Consecutive rows of one kind (refused before or not) go in one request. */
function splitAtRetries(rows: readonly OutboxRow[]): OutboxRow[][] {
  const units: OutboxRow[][] = [];
  for (const row of rows) {
    const last = units[units.length - 1];
    if (last && (last[0].attempts > 0) === (row.attempts > 0)) last.push(row);
    else units.push([row]);
  }
  return units;
}

/** A read of the outbox: its rows, and whether the relay's lock was still held by its session. */
interface LeadingRead {
  readonly leading: boolean;
  readonly rows: OutboxRow[];
}

/** A row of a read: an outbox row with the lock's state, or only the state (no row to read). */
type LeadingRow = { leading: boolean } & ({ position: string } | { position: null });

function leadingRead(rows: readonly LeadingRow[]): LeadingRead {
  return { leading: rows[0]?.leading === true, rows: rows.filter((row): row is LeadingRow & OutboxRow => row.position !== null) };
}

/** The message with the `traceparent` of its send span, when that span is recorded; as it was otherwise. */
function carrying(message: OutgoingMessage, span: Span): OutgoingMessage {
  const traceparent = traceparentOf(span, undefined);
  return traceparent ? { ...message, headers: { ...message.headers, traceparent } } : message;
}

/** Ends a connection without waiting long for a peer that may be gone. */
async function closeConnection(client: Client, graceMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref()));
  await Promise.race([client.end().catch(() => undefined), gone]);
  clearTimeout(timer);
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * Moves outbox rows to Kafka in outbox order, in batches, through an idempotent producer.
 * One relay per database is active (session advisory lock held on a connection of its own);
 * others stand by. Each read of the outbox also asks pg_locks whether that connection's session
 * still holds the lock, and the relay steps down when it does not, or when the connection fails:
 * a session that died took the lock with it, and a standby may already be sending.
 *
 * Idle, it sleeps until a writer's NOTIFY (or the fallback poll). Busy (rows at `busyRowsPerSecond`
 * or more, or a burst), it tells writers not to notify and keeps reading, every `busyPollMs` when
 * it finds nothing: a notifying commit holds a cluster-wide lock through its WAL flush, so writers
 * that all notify commit one flush after another.
 * While Kafka is down it backs off and keeps the rows: writes go on succeeding and the backlog
 * drains when Kafka returns. Rows are deleted only after Kafka acknowledged them, so a crash in
 * between re-sends (consumers de-duplicate); the deletes do not wait for the WAL flush, so a crash
 * of PostgreSQL itself may re-send too, and nothing else.
 *
 * A row Kafka refuses (too large for its topic, topic gone, not authorized) is found by
 * splitting the failed request (per topic, then in halves), retried alone with back-off, and
 * after `maxAttempts` refusals moved to messaging.outbox_dead_letters in the transaction that
 * deletes it from the outbox. Meanwhile the later rows of its topic and key wait, so per-key
 * order holds; once it is dead-lettered they go on, ahead of it.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly busyPollMs: number;
  private readonly traffic: RelayTraffic;
  private readonly standbyRetryMs: number;
  private readonly maxAttempts: number;
  private readonly leaderCheckTimeoutMs: number;
  private readonly backoff: Backoff;
  private running = false;
  private loop?: Promise<void>;
  /** The connection that tries for the lock, kept between tries; the leader's once it holds it. */
  private lockClient?: Client;
  private leader?: Client;
  /** The backend of the leader's lock connection: whether it still holds the lock is asked by pid. */
  private leaderPid = 0;
  /** After losing the lock, no new try before this time, so a standby can take over. */
  private leadNotBefore = 0;
  /** Rows read by the last delete-and-read, to be sent next (only while leading). */
  private readAhead?: OutboxRow[];
  /** Positions Kafka acknowledged, not yet deleted: the next statement that reads the outbox deletes them. */
  private acknowledged: string[] = [];
  /** Refused rows waiting for their next attempt, by position (only while leading). */
  private readonly retries = new Map<string, Retry>();
  /** Topics Kafka refused as a whole, and when to try each again (only while leading). */
  private readonly refusedTopics = new Map<string, number>();
  private producer?: MessageProducer;
  private wake?: () => void;
  private pendingWake = false;
  private waiting?: boolean;
  /** The last read found no row, none held back: what commits after it is for the next round. */
  private foundNothing = false;
  private stats_: { sent: number; failures: number; refused: number; deadLettered: number; lastError?: string } = {
    sent: 0,
    failures: 0,
    refused: 0,
    deadLettered: 0,
  };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.busyPollMs = options.busyPollMs ?? 5;
    this.traffic = new RelayTraffic(options.busyRowsPerSecond ?? 100);
    this.standbyRetryMs = options.standbyRetryMs ?? 2000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.leaderCheckTimeoutMs = options.leaderCheckTimeoutMs ?? 5000;
    if (!(this.maxAttempts >= 1)) throw new Error(`maxAttempts must be at least 1, got ${this.maxAttempts}`);
    this.backoff = validateBackoff({ initialMs: 200, maxMs: Math.max(200, options.maxBackoffMs ?? 5000), multiplier: 2 });
  }

  /** The dead letters of the database behind `db`, for tools that run no relay. */
  static deadLettersOf(db: SqlClient): OutboxDeadLetters {
    return new OutboxDeadLetters(db);
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
    await this.deleteAcknowledged().catch(() => undefined);
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

  /** Rows Kafka refused every time, waiting in messaging.outbox_dead_letters for a redrive. */
  deadLetterCount(): Promise<number> {
    return new OutboxDeadLetters(this.options.pool).count();
  }

  private async run(): Promise<void> {
    let consecutiveFailures = 0;
    while (this.running) {
      try {
        if (!this.leader) {
          const wait = this.leadNotBefore - Date.now();
          if (wait > 0 || !(await this.tryLead())) {
            await this.idle(wait > 0 ? wait : this.standbyRetryMs);
            continue;
          }
        }
        const sent = await this.relayBatch();
        consecutiveFailures = 0;
        if (!this.leader) continue;
        if (this.traffic.record(sent, Date.now())) {
          await this.setWaiting(false);
          if (sent === 0) await this.idle(Math.min(this.busyPollMs, this.sleepMs()));
        } else if (sent === 0 && (await this.readyToSleep())) await this.idle(this.sleepMs());
      } catch (error) {
        consecutiveFailures += 1;
        this.stats_.failures += 1;
        this.stats_.lastError = errorMessage(error);
        const backoff = backoffDelayMs(this.backoff, consecutiveFailures);
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
    const client = this.lockClient ?? (await this.connectLockClient());
    try {
      const { rows } = await client.query<{ locked: boolean; pid: number }>('SELECT pg_try_advisory_lock($1) AS locked, pg_backend_pid() AS pid', [RELAY_LOCK_KEY]);
      if (!rows[0].locked) return false;
      this.leaderPid = rows[0].pid;
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      this.lockConnectionLost(client, error);
      throw error;
    }
    this.leader = client;
    this.waiting = undefined;
    this.retries.clear();
    this.refusedTopics.clear();
    this.options.logger.info('outbox relay is the active relay of this database');
    return true;
  }

  /**
   * The lock's own connection, not one of the pool's: every query on it has a timeout, and TCP
   * keep-alive on both ends, so a dead one is found (here by its error, on the server by
   * keep-alive, which ends the session and so releases the lock, which the next read sees) in seconds.
   */
  private async connectLockClient(): Promise<Client> {
    const client = new Client({
      ...this.options.pool.options,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
      query_timeout: this.leaderCheckTimeoutMs,
    });
    // A dropped connection also drops the lock: step down and let whoever gets it lead.
    client.on('error', (error) => this.lockConnectionLost(client, error));
    client.on('notification', () => {
      if (this.leader === client) this.notify();
    });
    try {
      await client.connect();
    } catch (error) {
      void closeConnection(client);
      throw error;
    }
    // Ignored on Unix sockets; refused by some poolers, where the client-side checks still hold.
    await client.query(SERVER_KEEPALIVE_SQL).catch(() => undefined);
    this.lockClient = client;
    return client;
  }

  private lockConnectionLost(client: Client, error: unknown): void {
    if (this.lockClient === client) this.lockClient = undefined;
    if (this.leader === client) {
      this.leader = undefined;
      this.readAhead = undefined;
      this.retries.clear();
      this.refusedTopics.clear();
      this.waiting = undefined;
      this.leadNotBefore = Date.now() + this.standbyRetryMs;
      this.options.logger.warn('outbox relay lost its lock or the connection that holds it; it stops sending and stands by', errorFields(error));
    }
    void closeConnection(client);
  }

  /**
   * What a read said of the lock: while its session holds it, this relay leads; once not (the
   * session ended, and a standby may have taken the lock), it stops sending and stands by.
   */
  private stillLeading(leader: Client, read: LeadingRead): boolean {
    if (!read.leading) this.lockConnectionLost(leader, new Error(`the session (pid ${this.leaderPid}) no longer holds the relay lock`));
    return this.leader === leader;
  }

  private async resign(): Promise<void> {
    const client = this.lockClient;
    this.leader = undefined;
    this.lockClient = undefined;
    this.readAhead = undefined;
    this.retries.clear();
    this.refusedTopics.clear();
    // Ending the session releases the lock and the LISTEN.
    if (client) await closeConnection(client, this.leaderCheckTimeoutMs);
  }

  private async relayBatch(): Promise<number> {
    const leader = this.leader;
    if (!leader) return 0;
    this.forgetDueRetries();
    const retriedTopics = this.takeDueTopics();
    let rows = this.readAhead;
    this.readAhead = undefined;
    // Rows keep coming: the last round read this batch after or during its own send.
    const busy = rows !== undefined;
    if (!rows || (rows.length === 0 && this.acknowledged.length > 0)) {
      const read = await this.readNext();
      if (!this.stillLeading(leader, read)) return 0;
      rows = read.rows;
    }
    this.foundNothing = rows.length === 0 && this.retries.size === 0 && this.refusedTopics.size === 0;
    if (rows.length === 0) return 0;
    const round: Round = { sent: [], refused: [], held: new Set() };
    // While this batch is in flight, the last one's rows are deleted and the next batch is read: a
    // busy relay waits for Kafka or the database, whichever is slower, not for one after the other.
    // Not for the first batch after a wake-up (mostly a lone row: the read ahead would find nothing
    // and cost a statement), nor while refused rows wait, because then what to read next depends
    // on how this batch goes.
    const ahead =
      busy && retriedTopics.size === 0 && this.retries.size === 0 && this.refusedTopics.size === 0
        ? this.deleteAndRead(rows).then(
            (read) => ({ read }),
            (error: unknown) => ({ error }),
          )
        : undefined;
    let unavailable: { error: unknown } | undefined;
    try {
      for (const unit of this.plan(rows, retriedTopics)) await this.sendUnit(unit, round);
    } catch (error) {
      unavailable = { error };
    }
    this.stats_.sent += round.sent.length;
    const next = await ahead;
    if (next && 'read' in next && !this.stillLeading(leader, next.read)) {
      // Rows Kafka acknowledged go, whoever leads now; the new leader would only send them again.
      this.acknowledged.push(...round.sent.map((row) => row.position));
      await this.deleteAcknowledged();
      if (unavailable) throw unavailable.error;
      return round.sent.length;
    }
    if (next && !unavailable && round.refused.length === 0) {
      this.acknowledged.push(...round.sent.map((row) => row.position));
      if ('error' in next) throw next.error;
      this.readAhead = next.read.rows;
      return round.sent.length;
    }
    // The batch read ahead is dropped; its rows stay in the outbox and are read again.
    await this.settle(leader, rows, round, unavailable);
    if (unavailable) throw unavailable.error;
    return round.sent.length;
  }

  /** The next batch; the rows acknowledged but not yet deleted go in the same round trip. */
  private async readNext(): Promise<LeadingRead> {
    if (this.acknowledged.length === 0) return this.readRows(this.batchSize);
    if (this.retries.size === 0 && this.refusedTopics.size === 0) return this.deleteAndRead([]);
    await this.deleteAcknowledged();
    return this.readRows(this.batchSize);
  }

  /** Deletes the acknowledged rows and reads the next batch past the rows in flight, in one round trip. */
  private deleteAndRead(inFlight: readonly OutboxRow[]): Promise<LeadingRead> {
    const positions = inFlight.map((row) => row.position);
    return this.deletingAcknowledged(async (deleting) =>
      leadingRead((await this.options.pool.query<LeadingRow>(DELETE_AND_READ_SQL, [deleting, this.batchSize, this.leaderPid, positions])).rows),
    );
  }

  private async deleteAcknowledged(): Promise<void> {
    if (this.acknowledged.length > 0) await this.deletingAcknowledged((deleting) => this.options.pool.query(DELETE_SQL, [deleting]));
  }

  /** Runs a statement that deletes the acknowledged rows; once it succeeded, they are forgotten (not those acknowledged meanwhile). */
  private async deletingAcknowledged<T>(statement: (positions: readonly string[]) => Promise<T>): Promise<T> {
    const deleting = this.acknowledged.slice();
    const result = await statement(deleting);
    this.acknowledged = this.acknowledged.slice(deleting.length);
    return result;
  }

  /**
   * Suspect rows go in requests of their own, so that the rows around them are not refused with
   * them: ahead of the rest, per topic, every row of a topic Kafka refused as a whole and every
   * row refused before whose key has no earlier row in the batch; a suspect behind an earlier
   * row of its key stays in its place (per-key order), in a request of its own.
   */
  private plan(rows: readonly OutboxRow[], retriedTopics: ReadonlySet<string>): OutboxRow[][] {
    const ahead = new Map<string, OutboxRow[]>();
    const rest: OutboxRow[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      const key = holdKey(row);
      if (retriedTopics.has(row.topic) || (row.attempts > 0 && !seen.has(key))) {
        if (ahead.has(row.topic)) ahead.get(row.topic)?.push(row);
        else ahead.set(row.topic, [row]);
      } else rest.push(row);
      seen.add(key);
    }
    return [...ahead.values(), ...splitAtRetries(rest)];
  }

  /**
   * Sends the rows not held up by a refusal; when Kafka refuses the request, splits it (per
   * topic, then in halves) down to the rows it refuses. Throws when Kafka is away.
   */
  private async sendUnit(unit: readonly OutboxRow[], round: Round): Promise<void> {
    const rows = unit.filter((row) => !round.held.has(holdKey(row)));
    if (rows.length === 0) return;
    const messages = rows.map((row) => this.message(row));
    // One send span per message, child of the context its row kept; the message carries the span's.
    const spans = messages.map((message) => startSendSpan(message));
    try {
      this.producer ??= await this.options.producerFactory();
      await this.producer.send(messages.map((message, i) => carrying(message, spans[i])));
      for (const span of spans) endSpan(span);
      round.sent.push(...rows);
      return;
    } catch (error) {
      const failure = judgeSendFailure(error);
      for (const span of spans) endSpan(span, error, failure.errorName);
      if (failure.verdict === 'unavailable') throw error;
      // Part of a refused request may have been written (other partitions), and a producer that
      // knew a topic now deleted fails every later send: what follows goes through a new session.
      await this.dropProducer();
      const topics = [...new Set(rows.map((row) => row.topic))];
      if (topics.length > 1) {
        for (const topic of topics) await this.sendUnit(rows.filter((row) => row.topic === topic), round);
      } else if (rows.length === 1 || failure.verdict === 'topic-refused') {
        for (const row of rows) {
          round.refused.push({ row, failure });
          round.held.add(holdKey(row));
        }
      } else {
        const half = Math.ceil(rows.length / 2);
        await this.sendUnit(rows.slice(0, half), round);
        await this.sendUnit(rows.slice(half), round);
      }
    }
  }

  private message(row: OutboxRow): OutgoingMessage {
    return { topic: this.options.naming.kafkaTopic(row.topic), key: row.message_key, value: row.payload, headers: row.headers };
  }

  /**
   * After a batch sent without reading ahead: deletes what was acknowledged, counts refusals
   * (dead-lettering rows out of budget), reads the next batch when all went well.
   */
  private async settle(leader: Client, rows: readonly OutboxRow[], round: Round, unavailable: { error: unknown } | undefined): Promise<void> {
    const { pool } = this.options;
    this.acknowledged.push(...round.sent.map((row) => row.position));
    if (!unavailable && round.refused.length === 0 && this.retries.size === 0 && this.refusedTopics.size === 0) {
      // One round trip: the sent rows go, and the next batch is read with the lock's state. A
      // batch read ahead may miss a row a writer commits meanwhile with a smaller position; it is
      // sent with the batch after.
      const next = await this.deleteAndRead([]);
      if (this.stillLeading(leader, next)) this.readAhead = next.rows;
      return;
    }
    if (round.refused.length > 0) await this.deletingAcknowledged((sent) => this.countRefusals(sent, round.refused));
    else await this.deleteAcknowledged();
    if (unavailable) {
      const handled = new Set([...round.sent, ...round.refused.map((r) => r.row)]);
      const waiting = rows.filter((row) => !handled.has(row)).map((row) => row.position);
      await pool
        .query('UPDATE messaging.outbox SET last_error = $2 WHERE position = ANY($1::bigint[])', [waiting, errorMessage(unavailable.error)])
        .catch(() => undefined);
    }
  }

  /**
   * In one transaction: the sent rows go, each refused row's attempts grow by one, and those
   * out of budget move to the dead letters. The others wait for their back-off, holding their key.
   */
  private async countRefusals(sent: readonly string[], refused: Round['refused']): Promise<void> {
    const dead = new Set<string>();
    const attemptsOf = new Map<string, number>();
    await withTransaction(this.options.pool, async (tx) => {
      if (sent.length > 0) await tx.query(DELETE_SQL, [sent]);
      const { rows } = await tx.query<{ position: string; attempts: number }>(COUNT_REFUSALS_SQL, [
        refused.map((r) => r.row.position),
        refused.map((r) => r.failure.message),
      ]);
      for (const row of rows) {
        attemptsOf.set(row.position, row.attempts);
        if (row.attempts >= this.maxAttempts) dead.add(row.position);
      }
      const deadRows = refused.filter((r) => dead.has(r.row.position));
      if (deadRows.length > 0) {
        await tx.query(DEAD_LETTER_SQL, [deadRows.map((r) => r.row.position), deadRows.map((r) => r.failure.errorName)]);
      }
    });
    // Rows refused together are tried again together: one back-off per attempt count, and for a
    // topic refused as a whole, one for all its rows (that of its most tried row).
    const now = Date.now();
    const delays = new Map<number, number>();
    const delay = (attempts: number): number => {
      const ms = delays.get(attempts) ?? backoffDelayMs(this.backoff, attempts);
      delays.set(attempts, ms);
      return ms;
    };
    const topicAttempts = new Map<string, number>();
    for (const { row, failure } of refused) {
      const attempts = attemptsOf.get(row.position);
      if (attempts === undefined || dead.has(row.position) || failure.verdict !== 'topic-refused') continue;
      topicAttempts.set(row.topic, Math.max(attempts, topicAttempts.get(row.topic) ?? 0));
    }
    for (const [topic, attempts] of topicAttempts) this.refusedTopics.set(topic, now + delay(attempts));
    for (const { row } of refused) {
      const attempts = attemptsOf.get(row.position);
      if (attempts === undefined || dead.has(row.position)) continue;
      const dueAt = this.refusedTopics.get(row.topic) ?? now + delay(attempts);
      this.retries.set(row.position, { topic: row.topic, key: row.message_key, dueAt });
    }
    this.stats_.refused += refused.length;
    this.stats_.deadLettered += dead.size;
    this.stats_.lastError = refused[refused.length - 1].failure.message;
    const groups = new Map<string, Round['refused']>();
    for (const r of refused) {
      const group = `${r.row.topic} ${r.failure.errorName} ${dead.has(r.row.position)}`;
      if (groups.has(group)) groups.get(group)?.push(r);
      else groups.set(group, [r]);
    }
    for (const group of groups.values()) {
      const { row, failure } = group[0];
      const fields = { topic: row.topic, errorName: failure.errorName, error: failure.message, rows: group.length, positions: group.slice(0, 10).map((r) => r.row.position) };
      if (dead.has(row.position)) {
        this.options.logger.error('Kafka refused outbox rows every time; they moved to messaging.outbox_dead_letters (npm run outbox -- <service> dead-letters)', {
          ...fields,
          attempts: this.maxAttempts,
        });
      } else {
        this.options.logger.warn('Kafka refused outbox rows; they are retried after a back-off, the later rows of their keys wait', fields);
      }
    }
  }

  private forgetDueRetries(): void {
    const now = Date.now();
    for (const [position, retry] of this.retries) if (retry.dueAt <= now) this.retries.delete(position);
  }

  /** The refused topics whose next attempt is due: this round tries them (and records them again if refused again). */
  private takeDueTopics(): Set<string> {
    const now = Date.now();
    const due = new Set<string>();
    for (const [topic, dueAt] of this.refusedTopics) {
      if (dueAt > now) continue;
      due.add(topic);
      this.refusedTopics.delete(topic);
    }
    return due;
  }

  /** The next rows to send, and whether the lock's session still holds the lock. */
  private async readRows(limit: number): Promise<LeadingRead> {
    const now = Date.now();
    const topics = [...this.refusedTopics].filter(([, dueAt]) => dueAt > now).map(([topic]) => topic);
    const { pool } = this.options;
    if (this.retries.size === 0 && topics.length === 0) return leadingRead((await pool.query<LeadingRow>(READ_SQL, [limit, this.leaderPid])).rows);
    const held = [...this.retries.values()];
    return leadingRead((await pool.query<LeadingRow>(READ_SKIPPING_SQL, [limit, held.map((r) => r.topic), held.map((r) => r.key), topics, this.leaderPid])).rows);
  }

  /** Until the next poll, or the next refused row's or topic's attempt, whichever comes first. */
  private sleepMs(): number {
    const now = Date.now();
    let ms = this.pollIntervalMs;
    for (const retry of this.retries.values()) ms = Math.min(ms, retry.dueAt - now);
    for (const dueAt of this.refusedTopics.values()) if (dueAt > now) ms = Math.min(ms, dueAt - now);
    return Math.max(10, ms);
  }

  /**
   * Before sleeping: ask writers to NOTIFY again, then look once more, so a row committed
   * while we switched is not left waiting for the poll. Not when writers were notifying already
   * and the last read found nothing: a row committed since then has notified, and the wake-up
   * waits for the relay (an idle relay woken for one row used to read three times, not two).
   */
  private async readyToSleep(): Promise<boolean> {
    if (this.waiting === true && this.foundNothing) return true;
    await this.setWaiting(true);
    this.forgetDueRetries();
    const leader = this.leader;
    const read = await this.readRows(1);
    return leader !== undefined && this.stillLeading(leader, read) && read.rows.length === 0;
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
