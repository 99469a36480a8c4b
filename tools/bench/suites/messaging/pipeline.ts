import { jsonLogger, withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { KafkaNaming, OutboxPublisher, OutboxRelay, ServiceMessaging, type EnvelopeOf, type HandlerContext, type UseCase } from '@platform/messaging';
import { randomUUID } from 'node:crypto';
import { percentile, type BenchContext } from '../../bench';
import { kibEvent, sleep, until, type BenchEnv } from './fixture';

const EVENTS = [EndpointUpdated] as const;

/** The consuming side of the pipeline: inbox + one DB write per event. */
class EffectUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'effects';
  readonly events = EVENTS;
  readonly effectAt = new Map<string, number>();

  async handle(event: EnvelopeOf<typeof EVENTS>, { tx, afterCommit }: HandlerContext): Promise<void> {
    await tx.query('INSERT INTO effects (event_id, api_id, version) VALUES ($1, $2, $3)', [event.id, event.payload.apiId, event.payload.version]);
    // The effect counts once it is committed, not when its statement ran.
    afterCommit(() => this.effectAt.set(event.id, Date.now()));
  }
}

/**
 * (c) the whole path: a transaction writes one state row and its event to the outbox; the
 * relay sends it; a use case in another service's database handles it with its inbox and one
 * write. First as fast as 8 writers go, then paced at half that rate for latency.
 */
export async function pipeline(ctx: BenchContext, env: BenchEnv, count: number, rawProduceConsume: number): Promise<void> {
  const writer = await env.database('writer');
  const reader = await env.database('reader');
  await writer.pool.query('CREATE TABLE state (id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  await reader.pool.query('CREATE TABLE effects (event_id uuid PRIMARY KEY, api_id uuid NOT NULL, version int NOT NULL)');
  const naming = new KafkaNaming(`${env.namespace}-pipeline`);
  const logger = jsonLogger('pipeline', 'error');
  const useCase = new EffectUseCase();
  const consumer = new ServiceMessaging({ service: 'reader', broker: env.broker, naming, pool: reader.pool, publishes: [], useCases: [useCase], logger });
  const publisher = new OutboxPublisher('writer', [EndpointUpdated]);
  const relay = new OutboxRelay({ pool: writer.pool, naming, logger, producerFactory: () => env.broker.producer({ idempotent: true }) });
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
    ctx.progress(`pipeline: ${count} transactions from 8 writers as fast as they go`);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) await write();
      }),
    );
    ctx.progress(`pipeline: writers done after ${Date.now() - started} ms, ${useCase.effectAt.size} effects so far`);
    await until(() => relay.stats().sent >= count, 600_000, 'every event sent');
    ctx.progress(`pipeline: relay done after ${Date.now() - started} ms, ${useCase.effectAt.size} effects so far`);
    await until(() => useCase.effectAt.size >= count, 600_000, 'every effect');
    const rate = (count / (Math.max(...useCase.effectAt.values()) - started)) * 1000;
    ctx.record('pipeline_max_throughput', rate, 'events/s', { metric: 'raw_kafkajs_produce_consume', value: rawProduceConsume });

    await env.quiesce();
    const paced = Math.max(200, Math.floor(count / 4));
    const target = rate / 2;
    ctx.progress(`pipeline: ${paced} transactions paced at ${target.toFixed(0)}/s for latency`);
    const t0 = Date.now();
    let k = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const mine = k++;
          if (mine >= paced) return;
          const due = t0 + (mine / target) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
          await write();
        }
      }),
    );
    const ids = [...committedAt.keys()].slice(count);
    await until(() => ids.every((id) => useCase.effectAt.has(id)), 120_000, 'paced effects');
    const latencies = ids.map((id) => (useCase.effectAt.get(id) ?? 0) - (committedAt.get(id) ?? 0)).sort((a, b) => a - b);
    ctx.record('pipeline_commit_to_effect_p50', percentile(latencies, 50), 'ms');
    ctx.record('pipeline_commit_to_effect_p99', percentile(latencies, 99), 'ms');
    ctx.progress(`pipeline: commit-to-effect p90 ${percentile(latencies, 90)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies[latencies.length - 1]} ms`);
  } finally {
    await relay.stop();
    await consumer.stop(2000);
  }
}
