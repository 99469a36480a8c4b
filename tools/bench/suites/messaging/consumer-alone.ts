import { stderrLogger } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { CE, KafkaNaming, ServiceMessaging } from '@platform/messaging';
import { Partitioners } from 'kafkajs';
import { percentile, type BenchContext } from '../../bench';
import type { BenchAdapter } from './adapters';
import { effectsDatabase, startHandBuiltConsumer } from './dual-write';
import { commitToEffect, pacedWrites, rawMessage, until, watchPauses, type BenchEnv } from './fixture';
import { EffectUseCase } from './pipeline';

/** Ack→effect latency of a consumer fed alone. */
export interface ConsumerLatency {
  readonly p50: number;
  readonly p99: number;
}

/** Allowed on top of the hand-built consumer's p99: the pipeline's allowance (issue 14), for the consuming side alone. */
const P99_ALLOWANCE_MS = 5;

/**
 * Sends `count` events to `topic` from one raw producer (8 sends in flight, each awaited, acks=all)
 * paced at `perSecond`, first as many unmeasured (the consumer's first fetches, the pool's first
 * connections), and returns each measured event's time from Kafka's acknowledgement to its effect.
 */
async function pacedFeed(ctx: BenchContext, env: BenchEnv, label: string, topic: string, count: number, perSecond: number, effectAt: ReadonlyMap<string, number>): Promise<number[]> {
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const ackedAt = new Map<string, number>();
    const sent: string[] = [];
    let next = 0;
    const send = async () => {
      const message = rawMessage(next++);
      sent.push(message.headers[CE.id]);
      await producer.send({ topic, acks: -1, messages: [message] });
      ackedAt.set(message.headers[CE.id], Date.now());
    };
    await pacedWrites(count, perSecond, 8, send);
    await until(() => effectAt.size >= count, 120_000, `the warm-up effects of ${label}`);
    await env.quiesce();
    ctx.progress(`${label}: ${count} events paced at ${perSecond.toFixed(0)}/s for latency`);
    const pauses = watchPauses();
    await pacedWrites(count, perSecond, 8, send);
    const ids = sent.slice(count);
    await until(() => ids.every((id) => effectAt.has(id)), 120_000, `the paced effects of ${label}`);
    ctx.progress(`${label}, paced: ${pauses.stop()}`);
    return commitToEffect(ids, ackedAt, effectAt);
  } finally {
    await producer.disconnect();
  }
}

/**
 * The consumer a team would build by hand with exactly-once effects (kafkajs' eachMessage, the
 * event's id recorded in the effect's transaction, auto-committed offsets), fed alone: no
 * outbox, no relay, no writers. What our consumer is held against on its own.
 */
export async function handBuiltConsumerAlone(ctx: BenchContext, env: BenchEnv, count: number, perSecond: number): Promise<ConsumerLatency> {
  const reader = await effectsDatabase(env, 'alone_hand_built', true);
  const topic = await env.topic('alone-hand-built');
  const consumer = await startHandBuiltConsumer(env, topic, reader.pool, true);
  try {
    const latencies = await pacedFeed(ctx, env, 'hand-built inbox consumer alone', topic, count, perSecond, consumer.effectAt);
    return {
      p50: ctx.record('hand_built_inbox_consumer_ack_to_effect_p50', percentile(latencies, 50), 'ms').value,
      p99: ctx.record('hand_built_inbox_consumer_ack_to_effect_p99', percentile(latencies, 99), 'ms').value,
    };
  } finally {
    await consumer.stop();
  }
}

/**
 * Our consumer (a use case: inbox, partition processors, one write per event) fed alone, the
 * same events at the same rate as the hand-built consumer. Where the pipeline's commit→effect
 * tail comes from: this is the consuming side without the relay's hop and the writers' load.
 */
export async function consumerAlone(ctx: BenchContext, env: BenchEnv, count: number, perSecond: number, handBuilt: ConsumerLatency, adapter: BenchAdapter): Promise<ConsumerLatency> {
  const metric = (name: string) => (adapter.name === 'kafkajs' ? `consumer_${name}` : `consumer_${adapter.name}_${name}`);
  const reader = await effectsDatabase(env, `alone_${adapter.name}`);
  const naming = new KafkaNaming(`${env.namespace}-alone-${adapter.name}`);
  const useCase = new EffectUseCase();
  const consumer = new ServiceMessaging({ service: 'reader', broker: adapter.broker, naming, pool: reader.pool, publishes: [], useCases: [useCase], logger: stderrLogger('consumer-alone', 'error') });
  await consumer.start();
  try {
    await until(() => consumer.consumers.every((c) => c.assignment.length > 0), 30_000, 'the consumer group');
    const latencies = await pacedFeed(ctx, env, `our consumer alone (${adapter.name})`, naming.topic(EndpointUpdated), count, perSecond, useCase.effectAt);
    const p50 = ctx.record(metric('ack_to_effect_p50'), percentile(latencies, 50), 'ms', { metric: 'hand_built_inbox_consumer_ack_to_effect_p50', value: handBuilt.p50, lowerIsBetter: true }).value;
    const p99 = ctx.record(metric('ack_to_effect_p99'), percentile(latencies, 99), 'ms', { metric: 'hand_built_inbox_consumer_ack_to_effect_p99', value: handBuilt.p99, lowerIsBetter: true }, { atMost: handBuilt.p99 + P99_ALLOWANCE_MS }).value;
    return { p50, p99 };
  } finally {
    await consumer.stop(2000);
  }
}
