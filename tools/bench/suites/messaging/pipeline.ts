import { stderrLogger, withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { CE, KafkaNaming, OutboxPublisher, OutboxRelay, ServiceMessaging, type Broker, type EnvelopeOf, type HandlerContext, type GroupConsumer, type MessageProducer, type UseCase } from '@platform/messaging';
import { randomUUID } from 'node:crypto';
import { percentile, type BenchContext } from '../../bench';
import { effectsDatabase, type PipelinePeer } from './dual-write';
import { commitToEffect, kibEvent, pacedWrites, until, watchPauses, type BenchEnv } from './fixture';

const EVENTS = [EndpointUpdated] as const;

/** The consuming side of the pipeline: inbox + one DB write per event. */
export class EffectUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'effects';
  readonly events = EVENTS;
  readonly effectAt = new Map<string, number>();
  /** When the handler was called: after the fetch, the partition's queue, BEGIN and the inbox record. */
  readonly handlerAt = new Map<string, number>();

  async handle(event: EnvelopeOf<typeof EVENTS>, { tx, afterCommit }: HandlerContext): Promise<void> {
    this.handlerAt.set(event.id, Date.now());
    await tx.query('INSERT INTO effects (event_id, api_id, version) VALUES ($1, $2, $3)', [event.id, event.payload.apiId, event.payload.version]);
    // The effect counts once it is committed, not when its statement ran.
    afterCommit(() => this.effectAt.set(event.id, Date.now()));
  }
}

/** When the relay sent each event (by its id) and when Kafka acknowledged it. */
class SendTimes {
  readonly startedAt = new Map<string, number>();
  readonly ackedAt = new Map<string, number>();

  timing(producer: MessageProducer): MessageProducer {
    return {
      send: async (messages) => {
        const started = Date.now();
        await producer.send(messages);
        const acked = Date.now();
        for (const message of messages) {
          const id = message.headers[CE.id];
          if (!id) continue;
          this.startedAt.set(id, started);
          this.ackedAt.set(id, acked);
        }
      },
      disconnect: () => producer.disconnect(),
    };
  }
}

/** The broker, its consumers noting when each event (by its id) was first handed to the use case in a batch. */
function notingBatches(broker: Broker, batchedAt: Map<string, number>): Broker {
  // Both adapters return their consumers as plain objects of functions, to be spread and wrapped.
  const noting = (consumer: GroupConsumer): GroupConsumer => ({
    ...consumer,
    run: (options) =>
      consumer.run({
        ...options,
        onBatch: (batch) => {
          const now = Date.now();
          for (const { headers } of batch.messages) if (headers[CE.id] && !batchedAt.has(headers[CE.id])) batchedAt.set(headers[CE.id], now);
          return options.onBatch(batch);
        },
      }),
  });
  return {
    producer: (options) => broker.producer(options),
    admin: () => broker.admin(),
    consumer: async (options) => noting(await broker.consumer(options)),
  };
}

/** The figures the pipeline is held against, measured earlier in the same run. */
export interface PipelinePeers {
  readonly rawProduceConsume: number;
  /** The hand-built dual-write pipeline of the same shape: the targets are set against it. */
  readonly dualWrite: PipelinePeer;
  /** The same with an inbox on its consumer (exactly-once effects), paced at the same rate: printed beside, no target. */
  readonly dualWriteInbox: PipelinePeer;
  /** The writer's transaction alone, 8 clients: the database's ceiling for this shape. */
  readonly writerAlone: number;
}

/** Allowed on top of the dual-write pipeline's commit→effect p99 (issue 14). */
const P99_ALLOWANCE_MS = 5;

/** The Kafka adapter a pipeline run uses; kafkajs' lines keep their names, another's carry its name. */
export interface PipelineAdapter {
  readonly name: 'kafkajs' | 'platformatic';
  readonly broker: Broker;
  /** The kafkajs pipeline's figures of this run, to print this adapter's ratio to them. */
  readonly kafkajs?: PipelineResult;
}

export interface PipelineResult {
  readonly rate: number;
  readonly p99: number;
}

/**
 * (c) the whole path: a transaction writes one state row and its event to the outbox; the
 * relay sends it; a use case in another service's database handles it with its inbox and one
 * write. First as fast as 8 writers go, then paced for latency at the rate the dual-write peer
 * was paced at (half its own maximum), so both latencies are taken under the same load. The paced
 * events' commit-to-effect time is also cut in five: relay pickup (commit to the relay's send),
 * produce (to Kafka's acknowledgement), fetch (to the batch handed to the use case), handoff (to
 * the handler's call: the partition's queue, BEGIN and the inbox record) and effect (the
 * handler's write and COMMIT).
 */
export async function pipeline(ctx: BenchContext, env: BenchEnv, count: number, peers: PipelinePeers, adapter: PipelineAdapter = { name: 'kafkajs', broker: env.broker }): Promise<PipelineResult> {
  const metric = (name: string) => (adapter.name === 'kafkajs' ? `pipeline_${name}` : `pipeline_${adapter.name}_${name}`);
  const writer = await env.database('writer');
  const reader = await effectsDatabase(env, 'reader');
  await writer.pool.query('CREATE TABLE state (id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  const naming = new KafkaNaming(`${env.namespace}-pipeline-${adapter.name}`);
  const logger = stderrLogger('pipeline', 'error');
  const useCase = new EffectUseCase();
  const batchedAt = new Map<string, number>();
  const consumer = new ServiceMessaging({ service: 'reader', broker: notingBatches(adapter.broker, batchedAt), naming, pool: reader.pool, publishes: [], useCases: [useCase], logger });
  const publisher = new OutboxPublisher('writer', [EndpointUpdated]);
  const sends = new SendTimes();
  const relay = new OutboxRelay({ pool: writer.pool, naming, logger, producerFactory: async () => sends.timing(await adapter.broker.producer({ idempotent: true })) });
  await consumer.start();
  await until(() => consumer.consumers.every((c) => c.assignment.length > 0), 30_000, 'the consumer group');
  relay.start();

  const committedAt = new Map<string, number>();
  let next = 0;
  const write = async () => {
    const i = next++;
    const payload = kibEvent(i);
    const envelope = await withTransaction(writer.pool, async (tx) => {
      await tx.query('INSERT INTO state (id, api_id, version) VALUES ($1, $2, $3)', [randomUUID(), payload.apiId, payload.version]);
      return publisher.publish(tx, EndpointUpdated, payload);
    });
    committedAt.set(envelope.id, Date.now());
  };

  try {
    ctx.progress(`pipeline (${adapter.name}): ${count} transactions from 8 writers as fast as they go`);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) await write();
      }),
    );
    ctx.progress(`pipeline (${adapter.name}): writers done after ${Date.now() - started} ms, ${useCase.effectAt.size} effects so far`);
    await until(() => relay.stats().sent >= count, 600_000, 'every event sent');
    ctx.progress(`pipeline (${adapter.name}): relay done after ${Date.now() - started} ms, ${useCase.effectAt.size} effects so far`);
    await until(() => useCase.effectAt.size >= count, 600_000, 'every effect');
    const rate = (count / (Math.max(...useCase.effectAt.values()) - started)) * 1000;
    ctx.record(metric('max_throughput'), rate, 'events/s', { metric: 'dual_write_pipeline_max_throughput', value: peers.dualWrite.rate }, { atLeast: peers.dualWrite.rate });
    ctx.record(metric('vs_writer_alone'), rate, 'events/s', { metric: 'writer_transaction_alone_throughput', value: peers.writerAlone });
    ctx.record(metric('vs_raw_produce_consume'), rate, 'events/s', { metric: 'raw_kafkajs_produce_consume', value: peers.rawProduceConsume });

    if (adapter.kafkajs) ctx.record(metric('vs_kafkajs_throughput'), rate, 'events/s', { metric: 'pipeline_max_throughput', value: adapter.kafkajs.rate });

    await env.quiesce();
    const paced = Math.max(200, Math.floor(count / 4));
    // The peer's paced rate, not half our own: a latency is compared at the same offered load
    // (at half its own rate, a pipeline 1.75x faster was measured under 1.75x the peer's load).
    const target = peers.dualWrite.rate / 2;
    ctx.progress(`pipeline (${adapter.name}): ${paced} transactions paced at ${target.toFixed(0)}/s for latency`);
    const pauses = watchPauses();
    await pacedWrites(paced, target, 8, write);
    const ids = [...committedAt.keys()].slice(count);
    await until(() => ids.every((id) => useCase.effectAt.has(id)), 120_000, 'paced effects');
    ctx.progress(`pipeline (${adapter.name}), paced: ${pauses.stop()}`);
    const latencies = commitToEffect(ids, committedAt, useCase.effectAt);
    ctx.record(metric('commit_to_effect_p50'), percentile(latencies, 50), 'ms', { metric: 'dual_write_commit_to_effect_p50', value: peers.dualWrite.p50, lowerIsBetter: true });
    const p99 = ctx.record(metric('commit_to_effect_p99'), percentile(latencies, 99), 'ms', { metric: 'dual_write_commit_to_effect_p99', value: peers.dualWrite.p99, lowerIsBetter: true }, { atMost: peers.dualWrite.p99 + P99_ALLOWANCE_MS });
    ctx.record(metric('vs_dual_write_inbox_commit_to_effect_p99'), p99.value, 'ms', { metric: 'dual_write_inbox_commit_to_effect_p99', value: peers.dualWriteInbox.p99, lowerIsBetter: true });
    if (adapter.kafkajs) ctx.record(metric('vs_kafkajs_commit_to_effect_p99'), p99.value, 'ms', { metric: 'pipeline_commit_to_effect_p99', value: adapter.kafkajs.p99, lowerIsBetter: true });
    // Where the time goes: each event's path cut at the relay's send, Kafka's acknowledgement, the
    // batch handed to the use case and the handler's call.
    const segments: [string, ReadonlyMap<string, number>, ReadonlyMap<string, number>][] = [
      ['relay_pickup', committedAt, sends.startedAt],
      ['produce', sends.startedAt, sends.ackedAt],
      ['fetch', sends.ackedAt, batchedAt],
      ['handoff', batchedAt, useCase.handlerAt],
      ['effect', useCase.handlerAt, useCase.effectAt],
    ];
    for (const [name, from, to] of segments) {
      const times = commitToEffect(ids, from, to);
      ctx.record(metric(`segment_${name}_p50`), percentile(times, 50), 'ms');
      ctx.record(metric(`segment_${name}_p99`), percentile(times, 99), 'ms');
    }
    ctx.progress(`pipeline (${adapter.name}): the slowest 1% of events spent, on average, ${tailSegments(ids, committedAt, useCase.effectAt, segments)}`);
    ctx.progress(`pipeline (${adapter.name}): commit-to-effect p90 ${percentile(latencies, 90)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies[latencies.length - 1]} ms`);
    return { rate, p99: p99.value };
  } finally {
    await relay.stop();
    await consumer.stop(2000);
  }
}

/** Where the slowest 1% of events spent their time: each segment's mean over them (a p99 of each segment may come from other events). */
function tailSegments(ids: readonly string[], committedAt: ReadonlyMap<string, number>, effectAt: ReadonlyMap<string, number>, segments: readonly [string, ReadonlyMap<string, number>, ReadonlyMap<string, number>][]): string {
  const total = (id: string) => (effectAt.get(id) ?? 0) - (committedAt.get(id) ?? 0);
  const slowest = [...ids].sort((a, b) => total(b) - total(a)).slice(0, Math.max(1, Math.ceil(ids.length / 100)));
  const mean = (from: ReadonlyMap<string, number>, to: ReadonlyMap<string, number>) => slowest.reduce((n, id) => n + (to.get(id) ?? 0) - (from.get(id) ?? 0), 0) / slowest.length;
  return segments.map(([name, from, to]) => `${name} ${mean(from, to).toFixed(1)} ms`).join(', ');
}
