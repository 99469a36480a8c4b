import { jsonLogger } from '@platform/core';
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

/**
 * (d) a windowed use case (500 ms tumbling windows per owner, 50 owners): throughput, then the
 * emit delay (how late after its close time each window's result commits) at a steady rate,
 * once with a handler per window and once with the batch handler.
 */
export async function windows(ctx: BenchContext, env: BenchEnv, count: number, rawConsume: number): Promise<void> {
  await windowedUseCase(ctx, env, new DigestPerOwner(), 'windows', count, rawConsume);
  await env.settle();
  await windowedUseCase(ctx, env, new BatchedDigestPerOwner(), 'windows_batch_handler', count, rawConsume);
}

async function windowedUseCase(ctx: BenchContext, env: BenchEnv, useCase: DigestPerOwner, metric: string, count: number, rawConsume: number): Promise<void> {
  const db = await env.database(useCase.name.replace('-', '_'));
  await db.pool.query('CREATE TABLE digests (owner_id uuid, window_start timestamptz, events int, PRIMARY KEY (owner_id, window_start))');
  const naming = new KafkaNaming(`${env.namespace}-${useCase.name}`);
  const messaging = new ServiceMessaging({ service: 'windows', broker: env.broker, naming, pool: db.pool, publishes: [], useCases: [useCase], logger: jsonLogger('windows', 'error') });
  await messaging.start();
  await until(() => messaging.consumers.every((c) => c.assignment.length > 0), 30_000, 'the windowed group');
  const closer = messaging.consumers[0].windowCloser;
  if (!closer) throw new Error('the windowed use case has no window closer');
  const topic = naming.topic(EndpointUpdated);
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    ctx.progress(`${useCase.name}: ${count} events as fast as they can be produced`);
    const started = Date.now();
    for (let sent = 0; sent < count; sent += 1000) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(1000, count - sent) }, (_, i) => rawMessage(sent + i)) });
    }
    await until(() => useCase.handled >= count, 600_000, 'every window');
    ctx.record(`${metric}_throughput`, (count / (Date.now() - started)) * 1000, 'events/s', { metric: 'raw_kafkajs_consume_each_batch', value: rawConsume });

    // A service that has been running has fresh statistics (autovacuum analyzes at most a minute
    // apart); this database is seconds old, and plans from its first statistics would scan.
    await db.pool.query('ANALYZE messaging.windows, messaging.window_events');
    await env.quiesce();
    const rate = ctx.quick ? 500 : 1000;
    const seconds = ctx.quick ? 4 : 10;
    ctx.progress(`${useCase.name}: ${rate} events/s for ${seconds} s, measuring how late each window is handled after it closes`);
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
    ctx.record(`${metric}_emit_delay_p50`, percentile(delays, 50), 'ms');
    ctx.record(`${metric}_emit_delay_p99`, percentile(delays, 99), 'ms');
    ctx.progress(`${useCase.name}: ${delays.length} windows handled in the paced run`);
  } finally {
    await producer.disconnect();
    await messaging.stop(2000);
  }
}
