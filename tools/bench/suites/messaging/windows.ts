import { stderrLogger } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import {
  KafkaNaming,
  ServiceMessaging,
  type EnvelopeOf,
  type EventWindow,
  type HandlerContext,
  type WindowBatchContext,
  type WindowedUseCase,
} from '@platform/messaging';
import { Partitioners } from 'kafkajs';
import { percentile, type BenchContext } from '../../bench';
import { adapterMetric, type BenchAdapter } from './adapters';
import { rawMessage, sleep, until, type BenchEnv } from './fixture';

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;
const WINDOW = { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'processing' } as const;
const INSERT_ONE = 'INSERT INTO digests (owner_id, window_start, events) VALUES ($1, $2, $3)';

/** One digest row per (owner, 500 ms window), written by handleWindow: one INSERT per window. */
class DigestPerOwner implements WindowedUseCase<typeof EVENTS> {
  readonly name: string = 'digest';
  readonly events = EVENTS;
  readonly window = WINDOW;
  handled = 0;

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    await tx.query(INSERT_ONE, [window.key, window.start, window.events.length]);
    this.handled += window.events.length;
  }
}

/** The same digests, written by handleWindows: one INSERT per closing transaction. */
class BatchedDigestPerOwner extends DigestPerOwner {
  override readonly name = 'digest-batched';

  async handleWindows(windows: readonly EventWindow<Envelope>[], { tx }: WindowBatchContext): Promise<void> {
    await tx.query('INSERT INTO digests (owner_id, window_start, events) SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[])', [
      windows.map((w) => w.key),
      windows.map((w) => w.start),
      windows.map((w) => w.events.length),
    ]);
    for (const w of windows) this.handled += w.events.length;
  }
}

/** A windowed run's figures, for another adapter's lines to compare with. */
export interface WindowsResult {
  readonly throughput: number;
  readonly emitDelayP99: number;
}

/**
 * (d) a windowed use case (500 ms tumbling windows per owner, 50 owners) on the given adapter:
 * throughput, then the emit delay (how late after its close time each window's result commits)
 * at a steady rate, once with a handler per window and once with the batch handler. Another
 * adapter than kafkajs also prints its ratio to kafkajs' figures of the same run.
 */
export async function windows(
  ctx: BenchContext,
  env: BenchEnv,
  count: number,
  rawConsume: number,
  adapter: BenchAdapter,
  kafkajs?: { perWindow: WindowsResult; batched: WindowsResult },
): Promise<{ perWindow: WindowsResult; batched: WindowsResult }> {
  const perWindow = await windowedUseCase(ctx, env, new DigestPerOwner(), adapter, 'windows', count, rawConsume, kafkajs?.perWindow);
  await env.settle();
  const batched = await windowedUseCase(ctx, env, new BatchedDigestPerOwner(), adapter, 'windows_batch_handler', count, rawConsume, kafkajs?.batched);
  return { perWindow, batched };
}

async function windowedUseCase(
  ctx: BenchContext,
  env: BenchEnv,
  useCase: DigestPerOwner,
  adapter: BenchAdapter,
  prefix: string,
  count: number,
  rawConsume: number,
  kafkajs: WindowsResult | undefined,
): Promise<WindowsResult> {
  const metric = (name: string) => adapterMetric(adapter, prefix, name);
  const db = await env.database(`${useCase.name.replace('-', '_')}_${adapter.name}`);
  await db.pool.query('CREATE TABLE digests (owner_id uuid, window_start timestamptz, events int, PRIMARY KEY (owner_id, window_start))');
  const naming = new KafkaNaming(`${env.namespace}-${useCase.name}-${adapter.name}`);
  const messaging = new ServiceMessaging({ service: 'windows', broker: adapter.broker, naming, pool: db.pool, publishes: [], useCases: [useCase], logger: stderrLogger('windows', 'error') });
  await messaging.start();
  await until(() => messaging.consumers.every((c) => c.assignment.length > 0), 30_000, 'the windowed group');
  const closer = messaging.consumers[0].windowCloser;
  if (!closer) throw new Error('the windowed use case has no window closer');
  const topic = naming.topic(EndpointUpdated);
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    ctx.progress(`${useCase.name} (${adapter.name}): ${count} events as fast as they can be produced`);
    const started = Date.now();
    for (let sent = 0; sent < count; sent += 1000) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(1000, count - sent) }, (_, i) => rawMessage(sent + i)) });
    }
    await until(() => useCase.handled >= count, 600_000, 'every window');
    const throughput = (count / (Date.now() - started)) * 1000;
    ctx.record(metric('throughput'), throughput, 'events/s', { metric: 'raw_kafkajs_consume_each_batch', value: rawConsume });
    if (kafkajs) ctx.record(metric('throughput_vs_kafkajs'), throughput, 'events/s', { metric: `${prefix}_throughput`, value: kafkajs.throughput });

    // A service that has been running has fresh statistics (autovacuum analyzes at most a minute
    // apart); this database is seconds old, and plans from its first statistics would scan.
    await db.pool.query('ANALYZE messaging.windows, messaging.window_events');
    await env.quiesce();
    const rate = ctx.quick ? 500 : 1000;
    const seconds = ctx.quick ? 4 : 10;
    ctx.progress(`${useCase.name} (${adapter.name}): ${rate} events/s for ${seconds} s, measuring how late each window is handled after it closes`);
    closer.emitDelays.samples.length = 0;
    const before = useCase.handled;
    const t0 = Date.now();
    for (let tick = 0; tick < (seconds * 1000) / 50; tick++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: rate / 20 }, (_, i) => rawMessage(tick * 1000 + i)) });
      const due = t0 + (tick + 1) * 50;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    await until(() => useCase.handled - before >= rate * seconds, 60_000, 'the paced windows');
    const delays = [...closer.emitDelays.samples].sort((a, b) => a - b);
    ctx.record(metric('emit_delay_p50'), percentile(delays, 50), 'ms');
    const emitDelayP99 = percentile(delays, 99);
    ctx.record(metric('emit_delay_p99'), emitDelayP99, 'ms', kafkajs ? { metric: `${prefix}_emit_delay_p99`, value: kafkajs.emitDelayP99, lowerIsBetter: true } : undefined);
    ctx.progress(`${useCase.name} (${adapter.name}): ${delays.length} windows handled in the paced run`);
    return { throughput, emitDelayP99 };
  } finally {
    await producer.disconnect();
    await messaging.stop(2000);
  }
}
