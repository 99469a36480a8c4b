import type { Broker, KafkaClient } from '@platform/messaging';
import type { BenchContext } from '../../bench';
import type { RawBaselines } from './raw-kafkajs';
import { rawMessage, until, type BenchEnv } from './fixture';

/** A Kafka adapter of the Broker port, by the name KAFKA_CLIENT gives it. */
export interface BenchAdapter {
  readonly name: KafkaClient;
  readonly broker: Broker;
}

/**
 * A measurement's name for an adapter: kafkajs' lines keep the names they had before a second
 * adapter was measured (`outbox_relay_backlog_drain`), another's carry its name after the
 * prefix (`outbox_relay_platformatic_backlog_drain`).
 */
export function adapterMetric(adapter: BenchAdapter, prefix: string, name: string): string {
  return adapter.name === 'kafkajs' ? `${prefix}_${name}` : `${prefix}_${adapter.name}_${name}`;
}

/**
 * Each Kafka adapter behind the Broker port (what the library runs on), on the raw baselines'
 * workload: 1 KiB messages sent 1000 at a time by an idempotent acks=all producer, then read by
 * a consumer group (3 partitions at once, the fetch position moved past each batch).
 */
export async function brokerAdapter(ctx: BenchContext, env: BenchEnv, name: string, broker: Broker, count: number, raw: RawBaselines): Promise<void> {
  ctx.progress(`${name} adapter: producing ${count} messages of 1 KiB in sends of 1000`);
  const topic = await env.topic(`adapter-${name}`);
  const producer = await broker.producer({ idempotent: true });
  const started = Date.now();
  for (let sent = 0; sent < count; sent += 1000) {
    await producer.send(Array.from({ length: Math.min(1000, count - sent) }, (_, i) => ({ topic, ...rawMessage(sent + i) })));
  }
  ctx.record(`adapter_${name}_produce_batched`, (count / (Date.now() - started)) * 1000, 'msg/s', { metric: 'raw_kafkajs_produce_batched', value: raw.produce });
  await producer.disconnect();

  ctx.progress(`${name} adapter: consuming them`);
  const consumer = await broker.consumer({ groupId: `${topic}.adapter-consumer` });
  await consumer.subscribe([topic], { fromBeginning: true });
  let seen = 0;
  let first = 0;
  await consumer.run({
    partitionsConcurrently: 3,
    onBatch: async (batch) => {
      if (seen === 0) first = Date.now();
      seen += batch.messages.length;
      return batch.messages[batch.messages.length - 1].offset;
    },
  });
  await until(() => seen >= count, 300_000, `${name} adapter consumption`);
  ctx.record(`adapter_${name}_consume`, (count / (Date.now() - first)) * 1000, 'msg/s', { metric: 'raw_kafkajs_consume_each_batch', value: raw.consume });
  await consumer.stop();
}
