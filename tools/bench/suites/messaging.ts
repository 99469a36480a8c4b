import type { BenchSuite } from '../bench';
import { PlatformaticBroker } from '@platform/messaging';
import { stderrLogger } from '@platform/core';
import { brokerAdapter, type BenchAdapter } from './messaging/adapters';
import { benchEnv } from './messaging/fixture';
import { dualWritePipeline, writerTransactionsAlone } from './messaging/dual-write';
import { consumerAlone, handBuiltConsumerAlone } from './messaging/consumer-alone';
import { manyGroups } from './messaging/many-groups';
import { outboxRelayBacklog } from './messaging/outbox-relay';
import { pipeline } from './messaging/pipeline';
import { rawKafkajs } from './messaging/raw-kafkajs';
import { windows } from './messaging/windows';

/**
 * The messaging suite, one run on one broker: raw kafkajs baselines first, then the library's
 * paths, each printed with its ratio to the baseline measured minutes before; the pipeline is
 * held against the dual-write pipeline a team would build by hand (also with an inbox) and the writer's transaction alone,
 * and its consuming side alone against the hand-built inbox consumer.
 */
const suite: BenchSuite = async (ctx) => {
  const env = await benchEnv(ctx.quick ? 500 : 2000);
  try {
    const raw = await rawKafkajs(ctx, env, ctx.quick ? 10_000 : 50_000);
    await env.settle();
    // Both Kafka adapters of the Broker port, on the same workload (KAFKA_CLIENT picks one per service).
    const kafkajsAdapter: BenchAdapter = { name: 'kafkajs', broker: env.broker };
    const platformatic: BenchAdapter = {
      name: 'platformatic',
      broker: new PlatformaticBroker({ brokers: env.brokers, clientId: 'bench-platformatic', logger: stderrLogger('bench', 'error') }),
    };
    for (const { name, broker } of [kafkajsAdapter, platformatic]) {
      await brokerAdapter(ctx, env, name, broker, ctx.quick ? 10_000 : 50_000, raw);
      await env.settle();
    }
    const backlog = ctx.quick ? 10_000 : 50_000;
    const kafkajsDrain = await outboxRelayBacklog(ctx, env, backlog, raw.produce, kafkajsAdapter);
    await env.settle();
    await outboxRelayBacklog(ctx, env, backlog, raw.produce, platformatic, kafkajsDrain);
    await env.settle();
    const pipelineCount = ctx.quick ? 2_000 : 10_000;
    const dualWrite = await dualWritePipeline(ctx, env, pipelineCount);
    await env.settle();
    // The same by hand with exactly-once effects, paced at the same rate: what an inbox alone costs.
    const dualWriteInbox = await dualWritePipeline(ctx, env, pipelineCount, { inbox: true, pacedAt: dualWrite.rate / 2 });
    await env.settle();
    const writerAlone = await writerTransactionsAlone(ctx, env, pipelineCount);
    await env.settle();
    // The consuming side alone, at the pipeline's paced rate: ours against the hand-built inbox consumer.
    const alone = { count: Math.max(200, Math.floor(pipelineCount / 4)), rate: dualWrite.rate / 2 };
    const handBuilt = await handBuiltConsumerAlone(ctx, env, alone.count, alone.rate);
    await env.settle();
    for (const adapter of [kafkajsAdapter, platformatic]) {
      await consumerAlone(ctx, env, alone.count, alone.rate, handBuilt, adapter);
      await env.settle();
    }
    const peers = { rawProduceConsume: raw.produceConsume, dualWrite, dualWriteInbox, writerAlone };
    const kafkajs = await pipeline(ctx, env, pipelineCount, peers);
    await env.settle();
    await pipeline(ctx, env, pipelineCount, peers, { ...platformatic, kafkajs });
    await env.settle();
    const windowEvents = ctx.quick ? 5_000 : 30_000;
    const kafkajsWindows = await windows(ctx, env, windowEvents, raw.consume, kafkajsAdapter);
    await env.settle();
    await windows(ctx, env, windowEvents, raw.consume, platformatic, kafkajsWindows);
    await env.settle();
    await manyGroups(ctx, env, ctx.quick ? [1, 20] : [1, 5, 20]);
  } finally {
    await env.close();
  }
};
export default suite;
