import { stderrLogger, withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { OutboxPublisher, OutboxRelay, ensureTopics } from '@platform/messaging';
import type { BenchContext } from '../../bench';
import { adapterMetric, type BenchAdapter } from './adapters';
import { kibEvent, until, type BenchEnv } from './fixture';

/**
 * (b) the outbox relay draining a backlog that piled up while it was not running, its producer
 * on the given adapter; another adapter than kafkajs also prints its ratio to kafkajs' drain.
 */
export async function outboxRelayBacklog(ctx: BenchContext, env: BenchEnv, rows: number, rawProduce: number, adapter: BenchAdapter, kafkajsRate?: number): Promise<number> {
  const metric = (name: string) => adapterMetric(adapter, 'outbox_relay', name);
  const db = await env.database(`outbox_${adapter.name}`);
  const naming = env.naming();
  const admin = await env.broker.admin();
  await ensureTopics(admin, naming, [EndpointUpdated]);
  await admin.disconnect();
  ctx.progress(`outbox relay (${adapter.name}): writing a backlog of ${rows} rows`);
  const publisher = new OutboxPublisher('bench', [EndpointUpdated]);
  for (let i = 0; i < rows; i += 1000) {
    const events = Array.from({ length: Math.min(1000, rows - i) }, (_, j) => ({ event: EndpointUpdated, payload: kibEvent(i + j) }));
    await withTransaction(db.pool, (tx) => publisher.publishAll(tx, events));
  }
  ctx.progress(`outbox relay (${adapter.name}): draining`);
  const relay = new OutboxRelay({ pool: db.pool, naming, logger: stderrLogger('relay', 'error'), producerFactory: () => adapter.broker.producer({ idempotent: true }), batchSize: 1000 });
  const started = Date.now();
  relay.start();
  await until(() => relay.stats().sent >= rows, 600_000, 'the backlog to drain');
  const elapsed = Date.now() - started;
  await relay.stop();
  const rate = (rows / elapsed) * 1000;
  ctx.record(metric('backlog_drain'), rate, 'msg/s', { metric: 'raw_kafkajs_produce_batched', value: rawProduce });
  if (kafkajsRate !== undefined) ctx.record(metric('backlog_drain_vs_kafkajs'), rate, 'msg/s', { metric: 'outbox_relay_backlog_drain', value: kafkajsRate });
  return rate;
}
