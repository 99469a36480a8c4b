import type { BenchSuite } from '../bench';
import { benchEnv } from './messaging/fixture';
import { manyGroups } from './messaging/many-groups';
import { outboxRelayBacklog } from './messaging/outbox-relay';
import { pipeline } from './messaging/pipeline';
import { rawKafkajs } from './messaging/raw-kafkajs';
import { windows } from './messaging/windows';

/**
 * The messaging suite, one run on one broker: raw kafkajs baselines first, then the library's
 * paths, each printed with its ratio to the baseline measured minutes before.
 */
const suite: BenchSuite = async (ctx) => {
  const env = await benchEnv(ctx.quick ? 500 : 2000);
  try {
    const raw = await rawKafkajs(ctx, env, ctx.quick ? 10_000 : 50_000);
    await env.settle();
    await outboxRelayBacklog(ctx, env, ctx.quick ? 10_000 : 50_000, raw.produce);
    await env.settle();
    await pipeline(ctx, env, ctx.quick ? 2_000 : 10_000, raw.produceConsume);
    await env.settle();
    await windows(ctx, env, ctx.quick ? 5_000 : 30_000, raw.consume);
    await env.settle();
    await manyGroups(ctx, env, ctx.quick ? [1, 20] : [1, 5, 20]);
  } finally {
    await env.close();
  }
};
export default suite;
