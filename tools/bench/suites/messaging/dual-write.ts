import { Partitioners } from 'kafkajs';
import type { Pool, QueryResult } from 'pg';
import { randomUUID } from 'node:crypto';
import { withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { OutboxPublisher } from '@platform/messaging';
import type { TestDatabase } from '@platform/testing';
import { percentile, type BenchContext } from '../../bench';
import { commitToEffect, kibEvent, pacedWrites, rawMessage, until, watchPauses, type BenchEnv } from './fixture';

/** What a hand-built pipeline reached: the peer our pipeline is held against. */
export interface PipelinePeer {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

const WRITERS = 8;

/** What the hand-built consumer does with each event. */
export interface DualWriteOptions {
  /**
   * Records the event's id in a table of its own in the effect's transaction, and writes the
   * effect only when the id is new: exactly-once effects built by hand, in the fewest round trips
   * node-postgres allows (BEGIN with the record, the effect, COMMIT), as our consumers do.
   */
  readonly inbox?: boolean;
  /** Events a second of the paced part; half the burst's own rate when not given. */
  readonly pacedAt?: number;
}

/**
 * The pipeline a team would build without the platform, of the same shape as ours: 8 writers,
 * each committing a state row and then awaiting a produce of its 1 KiB event (acks=all,
 * idempotent: the dual write, which loses the event when the process dies between the two);
 * a consumer group with an eachMessage handler and kafkajs' auto-commit writes the effect into
 * another database (without `inbox`, a redelivery writes it again). Same client, broker,
 * partitions, payloads and databases as ours. First as fast as the writers go, then paced for
 * commit→effect latency, as ours is measured.
 */
export async function dualWritePipeline(ctx: BenchContext, env: BenchEnv, count: number, { inbox = false, pacedAt }: DualWriteOptions = {}): Promise<PipelinePeer> {
  const name = inbox ? 'dual_write_inbox' : 'dual_write';
  const peer = inbox ? 'dual-write peer with an inbox' : 'dual-write peer';
  const writer = await env.database(`${name}_writer`);
  const reader = await effectsDatabase(env, `${name}_reader`, inbox);
  await writer.pool.query('CREATE TABLE state (id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  const topic = await env.topic(name.replace(/_/g, '-'));
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumer = await startHandBuiltConsumer(env, topic, reader.pool, inbox);
  const { effectAt } = consumer;

  const committedAt = new Map<string, number>();
  let next = 0;
  const write = async () => {
    const message = rawMessage(next++);
    const payload = JSON.parse(message.value) as { apiId: string; version: number };
    const client = await writer.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO state (id, api_id, version) VALUES ($1, $2, $3)', [randomUUID(), payload.apiId, payload.version]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    committedAt.set(message.headers.ce_id, Date.now());
    await producer.send({ topic, acks: -1, messages: [message] });
  };

  try {
    ctx.progress(`${peer}: ${count} transactions, each followed by its produce, from ${WRITERS} writers`);
    const started = Date.now();
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      while (next < count) await write();
    }));
    await until(() => effectAt.size >= count, 600_000, `every effect of the ${peer}`);
    const rate = ctx.record(`${name}_pipeline_max_throughput`, (count / (Math.max(...effectAt.values()) - started)) * 1000, 'events/s').value;

    await env.quiesce();
    const paced = Math.max(200, Math.floor(count / 4));
    const target = pacedAt ?? rate / 2;
    ctx.progress(`${peer}: ${paced} transactions paced at ${target.toFixed(0)}/s for latency`);
    const pauses = watchPauses();
    await pacedWrites(paced, target, WRITERS, write);
    const ids = [...committedAt.keys()].slice(count);
    await until(() => ids.every((id) => effectAt.has(id)), 120_000, `paced effects of the ${peer}`);
    ctx.progress(`${peer}, paced: ${pauses.stop()}`);
    const latencies = commitToEffect(ids, committedAt, effectAt);
    const p50 = ctx.record(`${name}_commit_to_effect_p50`, percentile(latencies, 50), 'ms').value;
    const p99 = ctx.record(`${name}_commit_to_effect_p99`, percentile(latencies, 99), 'ms').value;
    return { rate, p50, p99 };
  } finally {
    await consumer.stop();
    await producer.disconnect();
  }
}

/** A consuming side's database: its effects table, and with `inbox` the hand-built inbox's table. */
export async function effectsDatabase(env: BenchEnv, name: string, inbox = false): Promise<TestDatabase> {
  const db = await env.database(name);
  await db.pool.query('CREATE TABLE effects (event_id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  if (inbox) await db.pool.query('CREATE TABLE handled_events (event_id uuid PRIMARY KEY)');
  return db;
}

/** A hand-built consumer group, running: when each event's effect was written, by the event's id. */
export interface HandBuiltConsumer {
  readonly effectAt: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/**
 * The consumer a team would write with kafkajs: a group whose eachMessage handler writes the
 * effect into `pool`'s effects table (with `inbox`, only when the event's id is recorded now in
 * handled_events, which must exist), offsets auto-committed. Resolves once it joined the group.
 */
export async function startHandBuiltConsumer(env: BenchEnv, topic: string, pool: Pool, inbox: boolean): Promise<HandBuiltConsumer> {
  const consumer = env.kafka.consumer({ groupId: `${topic}.effects`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const effectAt = new Map<string, number>();
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      const id = message.headers?.ce_id?.toString() ?? '';
      const payload = JSON.parse(message.value?.toString() ?? '{}') as { apiId: string; version: number };
      if (inbox) await writeOnce(pool, id, payload);
      else await pool.query('INSERT INTO effects (event_id, api_id, version) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, payload.apiId, payload.version]);
      effectAt.set(id, Date.now());
    },
  });
  await joined;
  return { effectAt, stop: () => consumer.disconnect() };
}

/** The effect, written only when the event's id is recorded now: a redelivery changes nothing. */
async function writeOnce(pool: Pool, id: string, payload: { apiId: string; version: number }): Promise<void> {
  const client = await pool.connect();
  try {
    const [, recorded] = (await client.query(`BEGIN; INSERT INTO handled_events (event_id) VALUES (${client.escapeLiteral(id)}) ON CONFLICT DO NOTHING`)) as unknown as QueryResult[];
    if (recorded.rowCount === 1) await client.query('INSERT INTO effects (event_id, api_id, version) VALUES ($1, $2, $3)', [id, payload.apiId, payload.version]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The writer's transaction alone, 8 clients: the same transaction as our pipeline's writer (a
 * state row and its event through the outbox publisher), with no relay and no consumer. The
 * database's ceiling for this shape on this machine: no pipeline that commits one such
 * transaction per event can go faster.
 */
export async function writerTransactionsAlone(ctx: BenchContext, env: BenchEnv, count: number): Promise<number> {
  const writer = await env.database('writer_alone');
  await writer.pool.query('CREATE TABLE state (id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  const publisher = new OutboxPublisher('writer', [EndpointUpdated]);
  let next = 0;
  ctx.progress(`writer alone: ${count} transactions (state row + outbox row) from ${WRITERS} clients`);
  const started = Date.now();
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (next < count) {
      const payload = kibEvent(next++);
      await withTransaction(writer.pool, async (tx) => {
        await tx.query('INSERT INTO state (id, api_id, version) VALUES ($1, $2, $3)', [randomUUID(), payload.apiId, payload.version]);
        await publisher.publish(tx, EndpointUpdated, payload);
      });
    }
  }));
  return ctx.record('writer_transaction_alone_throughput', (count / (Date.now() - started)) * 1000, 'tx/s').value;
}
