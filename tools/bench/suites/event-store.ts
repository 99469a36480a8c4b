/**
 * The event-store suite: one run on one PostgreSQL, 1 KiB JSON events, each measurement in a
 * throwaway database of its own. Baselines are measured in the same run: raw pg INSERTs (one
 * row, and 100 rows in one statement) into a table with the store's indexes for appends, Emmett
 * (@event-driven-io/emmett-postgresql) for an event store doing the same job, a raw SELECT for
 * catch-up, and hand-written upserts for a projection rebuild.
 */
import { type SqlClient } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { Pool, types } from 'pg';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, ProjectionRunner, type Projection, type RecordedEvent } from '@platform/event-store';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { percentile, round, type BenchContext, type BenchSuite } from '../bench';

const WRITERS = 8;
const BATCH = 100;

interface Sizes {
  /** Rounds of appends; each round runs every contender once, so load drift hits all alike. */
  readonly rounds: number;
  /** Single-event appends per writer per round, for raw pg, Emmett and ours. */
  readonly singlesPerRound: number;
  /** 100-event appends per writer per round, for raw pg and ours; with the warm-up, ours are caught up and projected. */
  readonly batchesPerRound: number;
}

/** A JSON object of exactly `bytes` bytes when stringified: the events' data. */
function payload(bytes: number): Record<string, string> {
  const base = { apiId: randomUUID(), ownerId: randomUUID(), name: 'orders', method: 'GET', path: '/orders/{id}', upstream: 'http://orders.internal/v1' };
  const padding = bytes - JSON.stringify({ ...base, description: '' }).length;
  const data = { ...base, description: 'x'.repeat(padding) };
  if (JSON.stringify(data).length !== bytes) throw new Error('payload size is off');
  return data;
}

const DATA = payload(1024);
const METADATA = { correlationId: randomUUID(), causationId: randomUUID() };

/** Time and per-operation latencies, accumulated over rounds. */
class Tally {
  seconds = 0;
  operations = 0;
  readonly latenciesMs: number[] = [];

  sorted(): number[] {
    return [...this.latenciesMs].sort((a, b) => a - b);
  }
}

/** `writers` loops side by side, each doing `perWriter` operations one after the other. */
async function concurrently(tally: Tally | undefined, writers: number, perWriter: number, operation: (writer: number) => Promise<unknown>): Promise<void> {
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; i < perWriter; i++) {
        const t0 = process.hrtime.bigint();
        await operation(writer);
        tally?.latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  if (!tally) return;
  tally.seconds += Number(process.hrtime.bigint() - started) / 1e9;
  tally.operations += writers * perWriter;
}

/** One way of appending: its own database, one stream per writer, expected versions tracked per writer. */
interface Contender {
  readonly name: string;
  readonly db: TestDatabase;
  readonly eventsPerOperation: number;
  readonly tally: Tally;
  append(writer: number): Promise<unknown>;
  close(): Promise<void>;
}

const versions = () => new Array<number>(WRITERS).fill(0);

/**
 * A table a team would write events to by hand: the columns and the three unique indexes of
 * event_store.events (stream and version, event id, transaction and position), so the raw
 * peers pay the same index maintenance as the store.
 */
const RAW_EVENTS_TABLE = `CREATE TABLE raw_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY, transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL, stream_version bigint NOT NULL CHECK (stream_version > 0), event_id uuid NOT NULL,
    event_type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL DEFAULT '{}',
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (stream_id, stream_version), UNIQUE (event_id), UNIQUE (transaction_id, global_position))`;

const RAW_COLUMNS = 6;

/** `INSERT ... VALUES ($1, ..., $6), ($7, ...)`: one statement for `rows` rows. */
function rawInsertSql(rows: number): string {
  const tuples = Array.from({ length: rows }, (_, r) => `(${Array.from({ length: RAW_COLUMNS }, (_, c) => `$${r * RAW_COLUMNS + c + 1}`).join(', ')})`);
  return `INSERT INTO raw_events (event_id, stream_id, stream_version, event_type, data, metadata) VALUES ${tuples.join(', ')}`;
}

// (1) The baselines: `eventsPerOperation` rows in one INSERT statement, autocommit, 8 clients,
// into a table with the store's columns and indexes; versions counted by each writer, unchecked.
async function rawPg(name: string, eventsPerOperation: number): Promise<Contender> {
  const db = await createTestDatabase(`bench_${name}`, { poolSize: WRITERS });
  await db.pool.query(RAW_EVENTS_TABLE);
  const sql = rawInsertSql(eventsPerOperation);
  const version = versions();
  return {
    name,
    db,
    eventsPerOperation,
    tally: new Tally(),
    append: (w) => {
      const values: unknown[] = [];
      for (let i = 0; i < eventsPerOperation; i++) {
        values.push(randomUUID(), `raw-${w}`, ++version[w], 'BenchEvent', JSON.stringify(DATA), JSON.stringify(METADATA));
      }
      return db.pool.query(sql, values);
    },
    close: () => db.drop(),
  };
}

/**
 * The pg parsers Emmett's driver (dumbo) installs for every pg client of the process when a store
 * is made: int8 as BigInt, json and jsonb through JSON.parse with a BigInt reviver (called for
 * every value). Left global, they would slow down every later read of ours and of the raw peers.
 */
const EMMETT_PARSED_TYPES = [types.builtins.INT8, types.builtins.JSON, types.builtins.JSONB];

// (2) Emmett: appendToStream with one event, 8 writers on their own streams, expected versions
// checked; on a pool of its own (pg's default size, 10) that keeps Emmett's parsers to itself.
async function emmett(): Promise<Contender> {
  const db = await createTestDatabase('bench_emmett');
  const defaults = EMMETT_PARSED_TYPES.map((oid) => types.getTypeParser(oid, 'text'));
  const emmettParsers = new Map<number, (value: string) => unknown>();
  const pool = new Pool({
    connectionString: db.url,
    max: 10,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => emmettParsers.get(oid) ?? types.getTypeParser(oid, format)) as typeof types.getTypeParser },
  });
  pool.on('error', () => undefined);
  const store = getPostgreSQLEventStore(db.url, { connectionOptions: { pool } });
  await store.schema.migrate();
  EMMETT_PARSED_TYPES.forEach((oid, i) => {
    emmettParsers.set(oid, types.getTypeParser(oid, 'text'));
    types.setTypeParser(oid, defaults[i]);
  });
  const version = versions();
  return {
    name: 'emmett',
    db,
    eventsPerOperation: 1,
    tally: new Tally(),
    append: async (w) => {
      await store.appendToStream(`bench-${w}`, [{ type: 'BenchEvent', data: DATA, metadata: METADATA }], { expectedStreamVersion: BigInt(version[w]) });
      version[w] += 1;
    },
    close: async () => {
      await store.close();
      await pool.end();
      await db.drop();
    },
  };
}

// (3) and (4) Ours: single events, or 100-event batches, 8 writers on their own streams, expected versions checked.
async function ours(name: string, eventsPerOperation: number): Promise<Contender & { store: PostgresEventStore }> {
  const db = await createTestDatabase(`bench_${name}`);
  const store = await migratedStore(db);
  const version = versions();
  return {
    name,
    db,
    store,
    eventsPerOperation,
    tally: new Tally(),
    append: async (w) => {
      const events = Array.from({ length: eventsPerOperation }, () => ({ id: randomUUID(), type: 'BenchEvent', data: DATA, metadata: METADATA }));
      await store.append(`bench-${w}`, events, { expectedVersion: version[w] });
      version[w] += eventsPerOperation;
    },
    close: async () => {
      store.close();
      await db.drop();
    },
  };
}

async function migratedStore(db: TestDatabase): Promise<PostgresEventStore> {
  await applySqlMigrations(db.pool, EVENT_STORE_MIGRATIONS);
  return new PostgresEventStore(db.pool);
}

const EVENT_COLUMNS = `event_id, event_type, stream_id, stream_version, global_position, transaction_id::text AS transaction_id,
  data, metadata, recorded_at`;

/** A read model of per-stream counters: one upsert per event, as a typical projection does. */
const COUNTS_TABLE = (table: string) =>
  `CREATE TABLE ${table} (stream_id text PRIMARY KEY, events integer NOT NULL, last_position bigint NOT NULL, last_type text NOT NULL)`;
const upsertCount = (table: string) => `INSERT INTO ${table} (stream_id, events, last_position, last_type) VALUES ($1, 1, $2, $3)
  ON CONFLICT (stream_id) DO UPDATE SET events = ${table}.events + 1, last_position = EXCLUDED.last_position, last_type = EXCLUDED.last_type`;

function streamCounts(): Projection {
  const sql = upsertCount('stream_counts');
  return {
    name: 'stream-counts',
    eventTypes: ['BenchEvent'],
    apply: async (event: RecordedEvent, tx: SqlClient) => void (await tx.query(sql, [event.streamId, event.globalPosition, event.type])),
    truncate: async (tx: SqlClient) => void (await tx.query('TRUNCATE stream_counts')),
  };
}

const PAGE = 2000;

// (5) Catch-up of the batch contender's events: one raw SELECT of them all (the baseline the
// targets name), raw keyset pages of the same size as ours, then our subscription from the start.
async function catchUpVersusSelect(ctx: BenchContext, db: TestDatabase, store: PostgresEventStore, count: number): Promise<void> {
  await db.pool.query('VACUUM ANALYZE event_store.events');
  ctx.progress(`catch-up of ${count} events: one raw SELECT, raw pages of ${PAGE}, then our subscription from the start`);
  let started = process.hrtime.bigint();
  const { rowCount } = await db.pool.query(`SELECT ${EVENT_COLUMNS} FROM event_store.events`);
  if (rowCount !== count) throw new Error(`the raw SELECT read ${rowCount} of ${count} events`);
  const raw = ctx.record('raw_pg_select_events_per_s', count / seconds(started), 'events/s');
  started = process.hrtime.bigint();
  const paged = await rawPagedRead(db);
  if (paged !== count) throw new Error(`the raw pages read ${paged} of ${count} events`);
  const rawPaged = ctx.record('raw_pg_select_paged_events_per_s', count / seconds(started), 'events/s');
  const caughtUp = count / (await catchUp(store, count));
  ctx.record('ours_catch_up_events_per_s', caughtUp, 'events/s', { metric: raw.metric, value: raw.value });
  ctx.record('ours_catch_up_vs_paged_select_events_per_s', caughtUp, 'events/s', { metric: rawPaged.metric, value: rawPaged.value });
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Keyset pages in the same order, without the horizon: what a reader without gap safety would do. */
async function rawPagedRead(db: TestDatabase): Promise<number> {
  let read = 0;
  let after = ['0', '0'];
  for (;;) {
    const { rows } = await db.pool.query<{ transaction_id: string; global_position: string }>(
      // Qualified: an unqualified ORDER BY transaction_id would sort by the ::text output column.
      `SELECT ${EVENT_COLUMNS} FROM event_store.events e WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
        ORDER BY e.transaction_id, e.global_position LIMIT ${PAGE}`,
      after,
    );
    read += rows.length;
    if (rows.length < PAGE) return read;
    after = [rows[rows.length - 1].transaction_id, rows[rows.length - 1].global_position];
  }
}

/** Seconds for a subscription from the start to deliver `count` events. */
async function catchUp(store: PostgresEventStore, count: number): Promise<number> {
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const started = process.hrtime.bigint();
  const subscription = store.subscribe({
    batchSize: PAGE,
    handler: () => {
      delivered += 1;
      if (delivered === count) done();
    },
  });
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await subscription.stop();
  return seconds;
}

// (6) Projection rebuild over the same events: a hand-written projection, then our runner.
async function rebuildVersusRawUpserts(ctx: BenchContext, db: TestDatabase, store: PostgresEventStore, count: number): Promise<void> {
  ctx.progress(`projection rebuild over ${count} events: hand-written upserts, then our runner`);
  await db.pool.query(`${COUNTS_TABLE('raw_counts')}; ${COUNTS_TABLE('stream_counts')}`);
  const started = process.hrtime.bigint();
  const projected = await rawProjection(db);
  if (projected !== count) throw new Error(`the raw projection applied ${projected} of ${count} events`);
  const raw = ctx.record('raw_pg_projection_upserts_events_per_s', count / seconds(started), 'events/s');
  const runner = new ProjectionRunner(store, streamCounts(), { batchSize: 500 });
  const progress = await runner.rebuild({
    progressIntervalMs: 2000,
    onProgress: (p) => ctx.progress(`rebuild: ${p.processed} events, ${p.eventsPerSecond} events/s, lag ${p.lag}${p.done ? ', done' : ''}`),
  });
  if (progress.processed !== count) throw new Error(`the rebuild applied ${progress.processed} of ${count} events`);
  ctx.record('ours_projection_rebuild_events_per_s', progress.eventsPerSecond, 'events/s', { metric: raw.metric, value: raw.value });
}

/**
 * The same read model by hand: pages of 500 (only the columns it needs), each page's upserts
 * and a checkpoint in one transaction.
 */
async function rawProjection(db: TestDatabase): Promise<number> {
  await db.pool.query("CREATE TABLE raw_checkpoint (name text PRIMARY KEY, tx xid8 NOT NULL, position bigint NOT NULL); INSERT INTO raw_checkpoint VALUES ('raw', '0', 0)");
  const sql = upsertCount('raw_counts');
  const client = await db.pool.connect();
  let applied = 0;
  try {
    let after = ['0', '0'];
    for (;;) {
      const { rows } = await client.query<{ stream_id: string; event_type: string; transaction_id: string; global_position: string }>(
        `SELECT e.stream_id, e.event_type, e.transaction_id::text AS transaction_id, e.global_position FROM event_store.events e
          WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint) ORDER BY e.transaction_id, e.global_position LIMIT 500`,
        after,
      );
      if (rows.length === 0) return applied;
      await client.query('BEGIN');
      for (const row of rows) await client.query(sql, [row.stream_id, row.global_position, row.event_type]);
      after = [rows[rows.length - 1].transaction_id, rows[rows.length - 1].global_position];
      await client.query("UPDATE raw_checkpoint SET tx = $1::xid8, position = $2 WHERE name = 'raw'", after);
      await client.query('COMMIT');
      applied += rows.length;
    }
  } finally {
    client.release();
  }
}

const eventsPerSecond = (c: Contender) => (c.tally.operations * c.eventsPerOperation) / c.tally.seconds;

/** Targets of issue 14: single appends against Emmett and raw inserts, batches against a raw batch insert. */
const TARGETS = { singleVsEmmett: 2.5, singleVsRaw: 0.8, batchVsRaw: 0.8 };

interface Appenders {
  readonly raw: Contender;
  readonly rawBatch: Contender;
  readonly emmett: Contender;
  readonly single: Contender;
  readonly batch: Contender;
}

function recordAppends(ctx: BenchContext, { raw, rawBatch, emmett: emmettStore, single, batch }: Appenders): void {
  const rawLine = ctx.record('raw_pg_insert_append_single_events_per_s', eventsPerSecond(raw), 'events/s');
  const emmettLine = ctx.record('emmett_append_single_events_per_s', eventsPerSecond(emmettStore), 'events/s');
  const ours = eventsPerSecond(single);
  const singleLine = ctx.record('ours_append_single_events_per_s', ours, 'events/s', { metric: emmettLine.metric, value: emmettLine.value }, { atLeast: TARGETS.singleVsEmmett * emmettLine.value });
  ctx.record('ours_vs_raw_pg_append_single_events_per_s', ours, 'events/s', { metric: rawLine.metric, value: rawLine.value }, { atLeast: TARGETS.singleVsRaw * rawLine.value });
  const rawBatchLine = ctx.record('raw_pg_insert_append_batch100_events_per_s', eventsPerSecond(rawBatch), 'events/s');
  const batchRate = eventsPerSecond(batch);
  ctx.record('ours_append_batch100_events_per_s', batchRate, 'events/s', { metric: rawBatchLine.metric, value: rawBatchLine.value }, { atLeast: TARGETS.batchVsRaw * rawBatchLine.value });
  ctx.record('ours_append_batch100_vs_single_events_per_s', batchRate, 'events/s', { metric: singleLine.metric, value: singleLine.value });
  const p = (c: Contender, q: number) => percentile(c.tally.sorted(), q);
  ctx.record('ours_append_single_p50_ms', p(single, 50), 'ms', { metric: 'emmett_append_single_p50_ms', value: p(emmettStore, 50), lowerIsBetter: true });
  ctx.record('ours_append_single_p99_ms', p(single, 99), 'ms', { metric: 'emmett_append_single_p99_ms', value: p(emmettStore, 99), lowerIsBetter: true });
  ctx.progress(
    `append latency p50/p99 ms: raw pg ${round(p(raw, 50))}/${round(p(raw, 99))}, emmett ${round(p(emmettStore, 50))}/${round(p(emmettStore, 99))}, ` +
      `ours ${round(p(single, 50))}/${round(p(single, 99))}, raw pg 100-row insert ${round(p(rawBatch, 50))}/${round(p(rawBatch, 99))}, ` +
      `ours 100-event batch ${round(p(batch, 50))}/${round(p(batch, 99))}`,
  );
}

const suite: BenchSuite = async (ctx) => {
  // Full: 100,000 events caught up and projected (8 writers x (2 warm-up + 3 x 41) batches x 100).
  const sizes: Sizes = ctx.quick ? { rounds: 2, singlesPerRound: 150, batchesPerRound: 11 } : { rounds: 3, singlesPerRound: 500, batchesPerRound: 41 };
  ctx.progress(`1 KiB events (${JSON.stringify(DATA).length} bytes of data), ${WRITERS} writers, ${sizes.rounds} rounds`);
  const contenders: Contender[] = [];
  try {
    const raw = await rawPg('raw_pg_single', 1);
    contenders.push(raw);
    const emmettStore = await emmett();
    contenders.push(emmettStore);
    const single = await ours('ours_single', 1);
    contenders.push(single);
    const rawBatch = await rawPg('raw_pg_batch100', BATCH);
    contenders.push(rawBatch);
    const batch = await ours('ours_batch100', BATCH);
    contenders.push(batch);
    for (const c of contenders) await concurrently(undefined, WRITERS, 2, (w) => c.append(w));
    for (let round = 1; round <= sizes.rounds; round++) {
      ctx.progress(
        `round ${round}/${sizes.rounds}: ${WRITERS} writers x ${sizes.singlesPerRound} single appends each for raw pg, Emmett, ours; ` +
          `x ${sizes.batchesPerRound} batches of ${BATCH} for raw pg and ours`,
      );
      // Every other round in reverse, so neither side of a pair always runs right after the other.
      for (const c of round % 2 === 1 ? contenders : [...contenders].reverse()) {
        await concurrently(c.tally, WRITERS, c.eventsPerOperation === BATCH ? sizes.batchesPerRound : sizes.singlesPerRound, (w) => c.append(w));
      }
    }
    recordAppends(ctx, { raw, rawBatch, emmett: emmettStore, single, batch });
    const count = WRITERS * (2 + sizes.rounds * sizes.batchesPerRound) * BATCH;
    await catchUpVersusSelect(ctx, batch.db, batch.store, count);
    await rebuildVersusRawUpserts(ctx, batch.db, batch.store, count);
  } finally {
    for (const c of contenders) await c.close();
  }
};
export default suite;
