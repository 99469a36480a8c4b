import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { NotificationSent } from '@platform/contracts';
import { KafkaNaming } from '@platform/messaging';
import { httpJson, repoRoot, TestPlatform, uniqueName } from '@platform/testing';
import { Partitioners, type Consumer } from 'kafkajs';
import { percentile, type BenchContext } from '../../bench';
import { sleep, until, type BenchEnv } from '../messaging/fixture';

const run = promisify(execFile);

export interface ClosureSizes {
  /** Clients, each closing one account after the other: request, then wait for its completion. */
  readonly clients: number;
  readonly closures: number;
}

/**
 * Kafka hops of one closure: AccountClosureRequested (users' outbox to its saga), RetireApis (to
 * endpoints), ApisRetired (back to the saga), SendGoodbye (to notifications), NotificationSent
 * (the goodbye, where the bench sees the closure done). The peer moves a message through as many.
 */
const HOPS = 5;
const SERVICES = ['users', 'endpoints', 'notifications'];

/**
 * Account closures end to end across users, endpoints and notifications, real processes on the
 * broker and PostgreSQL: `clients` clients each ask for a closure (POST /users/:id/close) and wait
 * for its goodbye (NotificationSent, read from Kafka), then close the next account; every user
 * owns one API, which endpoints retires. Closures per second and request-to-goodbye p50/p99,
 * against the peer: plain kafkajs clients and forwarders passing a message through five topics
 * (the closure's hops) with the same concurrency, no database: the transport's floor.
 */
export async function closureThroughput(ctx: BenchContext, env: BenchEnv, sizes: ClosureSizes): Promise<void> {
  ctx.progress(`closures: peer, ${sizes.clients} clients passing ${sizes.closures} messages through ${HOPS} topics with plain kafkajs`);
  const peer = await rawChain(env, sizes);
  await env.settle();
  const ours = await closures(ctx, env, sizes);

  const peerName = `raw_kafkajs_${HOPS}_hop_chain_${sizes.clients}_clients`;
  const perSecond = ctx.record(`${peerName}_per_s`, peer.perSecond, 'msg/s');
  const p50 = ctx.record(`${peerName}_p50`, percentile(peer.latencies, 50), 'ms');
  const p99 = ctx.record(`${peerName}_p99`, percentile(peer.latencies, 99), 'ms');
  ctx.record(`account_closures_${sizes.clients}_clients_per_s`, ours.perSecond, 'closures/s', { metric: perSecond.metric, value: perSecond.value });
  ctx.record('account_closure_request_to_completion_p50', percentile(ours.latencies, 50), 'ms', { metric: p50.metric, value: p50.value, lowerIsBetter: true });
  ctx.record('account_closure_request_to_completion_p99', percentile(ours.latencies, 99), 'ms', { metric: p99.metric, value: p99.value, lowerIsBetter: true });
}

interface Measured {
  readonly perSecond: number;
  /** Sorted. */
  readonly latencies: number[];
}

/** Runs `clients` loops over `count` jobs, each timed from start to the promise it returns. */
async function closedLoop(clients: number, count: number, job: (i: number) => Promise<void>): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        await job(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  return { perSecond: count / seconds, latencies: latencies.sort((a, b) => a - b) };
}

/** Resolves the waiter of each key when a message of it arrives. */
class Arrivals {
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();

  arrived(key: string): void {
    const resolve = this.waiting.get(key);
    if (resolve) {
      this.waiting.delete(key);
      resolve();
    } else this.early.add(key);
  }

  wait(key: string, timeoutMs: number, what: string): Promise<void> {
    if (this.early.delete(key)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} for ${key} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** A consumer of its own group on `topic` that has its partitions, from the end of the topic. */
async function joinedConsumer(env: BenchEnv, topic: string, onMessage: (key: string, value: Buffer) => Promise<void> | void): Promise<Consumer> {
  // The fetch long-poll the library's consumers use.
  const consumer = env.kafka.consumer({ groupId: uniqueName('bench-closure'), maxWaitTimeInMs: 250 });
  await consumer.connect();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ partitionsConsumedConcurrently: 6, eachMessage: async ({ message }) => onMessage(message.key?.toString() ?? '', message.value ?? Buffer.alloc(0)) });
  await joined;
  return consumer;
}

async function rawChain(env: BenchEnv, sizes: ClosureSizes): Promise<Measured> {
  const topics: string[] = [];
  for (let hop = 0; hop < HOPS; hop++) topics.push(await env.topic(`closure-chain-${hop}`));
  // The outbox relay's producer settings: idempotent, acks=all.
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const arrivals = new Arrivals();
  const consumers: Consumer[] = [];
  try {
    for (let hop = 1; hop < HOPS; hop++) {
      const to = topics[hop];
      consumers.push(await joinedConsumer(env, topics[hop - 1], async (key, value) => void (await producer.send({ topic: to, acks: -1, messages: [{ key, value }] }))));
    }
    consumers.push(await joinedConsumer(env, topics[HOPS - 1], (key) => arrivals.arrived(key)));
    const keys = Array.from({ length: sizes.closures }, () => randomUUID());
    return await closedLoop(sizes.clients, sizes.closures, async (i) => {
      const done = arrivals.wait(keys[i], 60_000, 'message at the end of the chain');
      await producer.send({ topic: topics[0], acks: -1, messages: [{ key: keys[i], value: JSON.stringify({ userId: keys[i] }) }] });
      await done;
    });
  } finally {
    for (const consumer of consumers) await consumer.disconnect();
    await producer.disconnect();
  }
}

async function closures(ctx: BenchContext, env: BenchEnv, sizes: ClosureSizes): Promise<Measured> {
  ctx.progress(`closures: building ${SERVICES.join(', ')} (nx, cached when unchanged)`);
  await run('npx', ['nx', 'run-many', '-t', 'build', '-p', SERVICES.join(','), '--output-style=static'], {
    cwd: repoRoot(),
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const platform = new TestPlatform(SERVICES, { brokers: env.brokers });
  try {
    ctx.progress('closures: starting users, endpoints and notifications');
    // Warnings and errors only: a log line per request and message would be part of what is measured.
    await platform.start({ LOG_LEVEL: 'warn' });
    const url = (service: string, path: string) => `${platform.service(service).url}${path}`;
    const goodbyes = new Arrivals();
    const reader = await joinedConsumer(env, new KafkaNaming(platform.namespace).topic(NotificationSent), (_key, value) => {
      const sent = JSON.parse(value.toString()) as NotificationSent;
      if (sent.kind === 'goodbye') goodbyes.arrived(sent.userId);
    });
    try {
      ctx.progress(`closures: ${sizes.closures} users with an API each`);
      const userIds = await seedUsers(url, platform, sizes);
      ctx.progress(`closures: ${sizes.clients} clients closing ${sizes.closures} accounts`);
      const measured = await closedLoop(sizes.clients, sizes.closures, async (i) => {
        const done = goodbyes.wait(userIds[i], 120_000, 'goodbye');
        const accepted = await httpJson('POST', url('users', `/users/${userIds[i]}/close`), undefined, platform.asUser(userIds[i]));
        if (accepted.status !== 202) throw new Error(`closing ${userIds[i]}: ${accepted.status} ${JSON.stringify(accepted.body)}`);
        await done;
      });
      // Every closure completed, not compensated: a goodbye is sent only then, but say it.
      const last = await httpJson<{ state: string }>('GET', url('users', `/users/${userIds[sizes.closures - 1]}/closure`), undefined, platform.asOperator());
      if (last.body.state !== 'completed') throw new Error(`the last closure is ${last.body.state}, not completed`);
      return measured;
    } finally {
      await reader.disconnect();
    }
  } finally {
    await platform.stop();
  }
}

/** Users with one API each, created before the measurement; resolves once endpoints' catalog lists each one's API (retirement reads it). */
async function seedUsers(url: (service: string, path: string) => string, callers: Pick<TestPlatform, 'asUser' | 'asOperator'>, sizes: ClosureSizes): Promise<string[]> {
  const userIds: string[] = new Array(sizes.closures);
  await inParallel(sizes.clients, sizes.closures, async (i) => {
    // Each user registers themselves (the id is their token's subject) and creates their API.
    const userId = randomUUID();
    const user = await httpJson<{ id: string }>('POST', url('users', '/users'), { email: `${randomUUID().slice(0, 8)}@example.com`, displayName: `Bench ${i}` }, callers.asUser(userId));
    if (user.status !== 201) throw new Error(`creating a user: ${user.status} ${JSON.stringify(user.body)}`);
    const api = await httpJson('POST', url('endpoints', '/apis'), { name: `API ${i}`, basePath: `/b${i}` }, callers.asUser(userId));
    if (api.status !== 201) throw new Error(`creating an API: ${api.status} ${JSON.stringify(api.body)}`);
    userIds[i] = user.body.id;
  });
  // The catalog lists at most 500 APIs a request: asked owner by owner.
  await inParallel(sizes.clients, sizes.closures, (i) =>
    until(
      async () => (await httpJson<unknown[]>('GET', url('endpoints', `/apis?ownerId=${userIds[i]}`), undefined, callers.asOperator())).body.length === 1 || (await sleep(100).then(() => false)),
      120_000,
      `the API of user ${userIds[i]} in endpoints' catalog`,
    ),
  );
  return userIds;
}

/** `count` jobs, `workers` at a time. */
async function inParallel(workers: number, count: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < count; i = next++) await job(i);
    }),
  );
}
