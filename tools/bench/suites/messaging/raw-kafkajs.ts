import { Partitioners } from 'kafkajs';
import { percentile, type BenchContext } from '../../bench';
import { rawMessage, until, type BenchEnv } from './fixture';

export interface RawBaselines {
  readonly produce: number;
  readonly consume: number;
  readonly produceConsume: number;
}

function producer(env: BenchEnv) {
  // The same producer settings the outbox relay uses: idempotent, acks=all, one request in flight.
  return env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

async function produceBatches(env: BenchEnv, topic: string, count: number): Promise<void> {
  const p = producer(env);
  await p.connect();
  for (let sent = 0; sent < count; sent += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => rawMessage(sent + i));
    await p.send({ topic, acks: -1, messages });
  }
  await p.disconnect();
}

/** Starts a consumer group on `topic`; resolves once it has its partitions. */
async function startConsumer(env: BenchEnv, topic: string, count: number): Promise<{ done: Promise<{ first: number; last: number }> }> {
  const consumer = env.kafka.consumer({ groupId: `${topic}.raw-consumer`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let first = 0;
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      if (seen === 0) first = Date.now();
      seen += batch.messages.length;
    },
  });
  await joined;
  const done = until(() => seen >= count, 300_000, 'raw consumption').then(async () => {
    const last = Date.now();
    await consumer.disconnect();
    return { first, last };
  });
  return { done };
}

/** (a) plain kafkajs on the same broker, topics and payloads: the baselines of the suite. */
export async function rawKafkajs(ctx: BenchContext, env: BenchEnv, count: number): Promise<RawBaselines> {
  ctx.progress(`raw kafkajs: producing ${count} messages of 1 KiB in batches of 1000`);
  const topic = await env.topic('raw');
  const started = Date.now();
  await produceBatches(env, topic, count);
  const produce = ctx.record('raw_kafkajs_produce_batched', (count / (Date.now() - started)) * 1000, 'msg/s').value;

  ctx.progress('raw kafkajs: consuming them with eachBatch');
  const { first, last } = await (await startConsumer(env, topic, count)).done;
  const consume = ctx.record('raw_kafkajs_consume_each_batch', (count / (last - first)) * 1000, 'msg/s').value;

  const single = ctx.quick ? 300 : 1000;
  ctx.progress(`raw kafkajs: ${single} single sends for latency`);
  const p = producer(env);
  await p.connect();
  const latencies: number[] = [];
  for (let i = 0; i < single; i++) {
    const t = process.hrtime.bigint();
    await p.send({ topic, acks: -1, messages: [rawMessage(i)] });
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await p.disconnect();
  latencies.sort((a, b) => a - b);
  ctx.record('raw_kafkajs_produce_p50', percentile(latencies, 50), 'ms');
  ctx.record('raw_kafkajs_produce_p99', percentile(latencies, 99), 'ms');

  ctx.progress('raw kafkajs: producing and consuming at the same time');
  const both = await env.topic('raw-both');
  const consumer = await startConsumer(env, both, count);
  const t0 = Date.now();
  await produceBatches(env, both, count);
  const end = await consumer.done;
  const produceConsume = ctx.record('raw_kafkajs_produce_consume', (count / (end.last - t0)) * 1000, 'msg/s').value;
  return { produce, consume, produceConsume };
}
