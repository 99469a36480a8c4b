import { stderrLogger } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { CE, KafkaJsBroker, KafkaNaming, MESSAGING_MIGRATIONS, type Broker } from '@platform/messaging';
import { adminDatabaseUrl, applySqlMigrations, createTestDatabase, ensureKafka, uniqueName, type TestDatabase } from '@platform/testing';
import { Client } from 'pg';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const run = promisify(execFile);

export const OWNERS = Array.from({ length: 50 }, () => randomUUID());
const APIS = Array.from({ length: 500 }, (_, i) => ({ apiId: randomUUID(), ownerId: OWNERS[i % OWNERS.length] }));

/** An EndpointUpdated whose JSON is about 1 KiB, the payload size every measurement uses. */
export function kibEvent(i: number): EndpointUpdated {
  const api = APIS[i % APIS.length];
  const base: EndpointUpdated = { apiId: api.apiId, ownerId: api.ownerId, endpointId: randomUUID(), method: 'PUT', path: '/', upstreamUrl: 'http://upstream.internal/v1', change: 'updated', version: i + 1 };
  const padding = 1024 - JSON.stringify(base).length;
  return { ...base, path: `/bench/${'p'.repeat(Math.max(0, padding - 7))}` };
}

export function rawMessage(i: number, time = new Date()) {
  const payload = kibEvent(i);
  return {
    key: payload.apiId,
    value: JSON.stringify(payload),
    headers: {
      [CE.id]: randomUUID(),
      [CE.type]: EndpointUpdated.contract.ceType,
      [CE.source]: '/services/bench',
      [CE.time]: time.toISOString(),
      [CE.specversion]: '1.0',
      [CE.contentType]: 'application/json',
    },
  };
}

export interface BenchEnv {
  readonly brokers: string[];
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly broker: Broker;
  readonly namespace: string;
  /** A fresh topic of 6 partitions, like the contracts'. */
  topic(name: string): Promise<string>;
  /** A fresh database with the messaging schema. */
  database(name: string): Promise<TestDatabase>;
  naming(): KafkaNaming;
  /**
   * Between measurements: drops the databases used so far (no autovacuum of the last phase's
   * dead rows during the next), checkpoints (no checkpoint of its WAL in the middle of the
   * next), writes back dirty pages (the broker's log of the last phase, which the kernel would
   * otherwise write out under the next phase's commits), and lets the machine go quiet.
   */
  settle(): Promise<void>;
  /**
   * Within one measurement, between its burst and its paced part: the same checkpoint, write-back
   * and pause, keeping the databases, so the paced part measures its own rate and not the
   * aftermath of the burst.
   */
  quiesce(): Promise<void>;
  close(): Promise<void>;
}

/** @param quietMs how long settle() lets the machine go quiet (shorter for --quick). */
export async function benchEnv(quietMs = 2000): Promise<BenchEnv> {
  const brokers = await ensureKafka();
  const namespace = uniqueName('bench').replace(/_/g, '-');
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const databases: TestDatabase[] = [];
  const topics: string[] = [];
  return {
    brokers,
    kafka,
    admin,
    namespace,
    broker: new KafkaJsBroker({ brokers, clientId: 'bench', logger: stderrLogger('bench', 'error') }),
    naming: () => new KafkaNaming(namespace),
    async topic(name: string) {
      const topic = `${namespace}.${name}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
      topics.push(topic);
      return topic;
    },
    async database(name: string) {
      const db = await createTestDatabase(`bench_${name}`, { poolSize: 20 });
      await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
      databases.push(db);
      return db;
    },
    async settle() {
      for (const db of databases.splice(0)) await db.drop().catch(() => undefined);
      await quiet(quietMs);
    },
    quiesce: () => quiet(quietMs / 2),
    async close() {
      const all = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
      if (all.length > 0) await admin.deleteTopics({ topics: all }).catch(() => undefined);
      await admin.disconnect();
      for (const db of databases) await db.drop().catch(() => undefined);
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function quiet(ms: number): Promise<void> {
  const client = new Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
  await run('sync', []);
  await sleep(ms);
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Runs `write` `count` times from `writers` concurrent writers, the i-th not before i / perSecond s from now: a steady offered load, for latency. */
export async function pacedWrites(count: number, perSecond: number, writers: number, write: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let mine = next++; mine < count; mine = next++) {
        const due = t0 + (mine / perSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        await write();
      }
    }),
  );
}

/** Commit→effect times in ms, sorted, of the events given by id. */
export function commitToEffect(ids: readonly string[], committedAt: ReadonlyMap<string, number>, effectAt: ReadonlyMap<string, number>): number[] {
  return ids.map((id) => (effectAt.get(id) ?? 0) - (committedAt.get(id) ?? 0)).sort((a, b) => a - b);
}

/**
 * What held this process up while a latency was measured: its garbage collection pauses, its
 * event loop's delay and the machine's IO stalls. Printed beside the peer's, so that a tail
 * that differs is not taken for the collector's or the disk's when both sides saw the same.
 */
export interface PauseWatch {
  /** Stops watching; a line to print: pauses, heap, loop delay and IO stall time. */
  stop(): string;
}

export function watchPauses(): PauseWatch {
  const pauses: number[] = [];
  let major = 0;
  const heapAtStart = process.memoryUsage().heapUsed;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.push(entry.duration);
      if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major += 1;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const io = ioStallMicros();
  return {
    stop() {
      gc.disconnect();
      delay.disable();
      const ioStalled = (ioStallMicros() - io) / 1000;
      const total = pauses.reduce((n, d) => n + d, 0);
      return (
        `GC ${pauses.length} pauses (${major} major), ${total.toFixed(0)} ms in all, longest ${Math.max(0, ...pauses).toFixed(1)} ms; ` +
        `heap ${(heapAtStart / 2 ** 20).toFixed(0)} MB at the start; ` +
        `event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; ` +
        `some task stalled on IO for ${ioStalled.toFixed(0)} ms (/proc/pressure/io)`
      );
    },
  };
}

function ioStallMicros(): number {
  try {
    return Number(/some .*total=(\d+)/.exec(readFileSync('/proc/pressure/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
