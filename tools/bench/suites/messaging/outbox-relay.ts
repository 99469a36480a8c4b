import { jsonLogger, withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { OutboxPublisher, OutboxRelay, ensureTopics } from '@platform/messaging';
import type { BenchContext } from '../../bench';
import { kibEvent, until, type BenchEnv } from './fixture';

/** (b) the outbox relay draining a backlog that piled up while it was not running. */
export async function outboxRelayBacklog(ctx: BenchContext, env: BenchEnv, rows: number, rawProduce: number): Promise<void> {
  const db = await env.database('outbox');
  const naming = env.naming();
  const admin = await env.broker.admin();
  await ensureTopics(admin, naming, [EndpointUpdated]);
  await admin.disconnect();
  ctx.progress(`outbox relay: writing a backlog of ${rows} rows`);
  const publisher = new OutboxPublisher('bench', [EndpointUpdated]);
  for (let i = 0; i < rows; i += 1000) {
    const events = Array.from({ length: Math.min(1000, rows - i) }, (_, j) => ({ event: EndpointUpdated, payload: kibEvent(i + j) }));
    await withTransaction(db.pool, (tx) => publisher.publishAll(tx, events));
  }
  ctx.progress('outbox relay: draining');
  const relay = new OutboxRelay({ pool: db.pool, naming, logger: jsonLogger('relay', 'error'), producerFactory: () => env.broker.producer({ idempotent: true }), batchSize: 1000 });
  const started = Date.now();
  relay.start();
  await until(() => relay.stats().sent >= rows, 600_000, 'the backlog to drain');
  const elapsed = Date.now() - started;
  await relay.stop();
  ctx.record('outbox_relay_backlog_drain', (rows / elapsed) * 1000, 'msg/s', { metric: 'raw_kafkajs_produce_batched', value: rawProduce });
}
