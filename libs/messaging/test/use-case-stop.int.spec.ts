import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, sleep } from '@platform/testing';
import { ServiceMessaging, type EnvelopeOf, type HandlerContext, type UseCase } from '../src';
import { cloudEventMessage, endpointUpdated, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(90_000);

const EVENTS = [EndpointUpdated] as const;
/** Long enough for the other partition to be fetched while the member is stopping. */
const SLOW_MS = 3000;

/** Records when each event's handling starts; an event whose path ends in /slow takes SLOW_MS. */
class RecordingUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'stopping';
  readonly events = EVENTS;
  readonly started: string[] = [];

  async handle(event: EnvelopeOf<typeof EVENTS>, { tx }: HandlerContext): Promise<void> {
    this.started.push(event.id);
    if (event.payload.path.endsWith('/slow')) await sleep(SLOW_MS);
    await tx.query('INSERT INTO effects (event_id) VALUES ($1)', [event.id]);
  }
}

/**
 * A member that is stopping takes no new batch. Its partitions' processors are being stopped;
 * a batch of a partition fetched meanwhile used to get a processor of its own that nothing
 * stopped: it handled the batch after stop() had begun, then retried its commit on the closed
 * consumer for as long as the process lived (and kept Jest from exiting).
 */
describe('use case stop: no batch is taken once stopping (real Kafka and PostgreSQL)', () => {
  let h: MessagingHarness;
  const running: ServiceMessaging[] = [];
  const start = async (useCase: RecordingUseCase) => {
    const messaging = new ServiceMessaging({ service: 'stops', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [], useCases: [useCase], logger: h.logger });
    running.push(messaging);
    await messaging.start();
    return messaging;
  };
  const effectsOf = async (eventId: string) => (await h.db.pool.query('SELECT 1 FROM effects WHERE event_id = $1', [eventId])).rowCount;

  beforeAll(async () => {
    h = await messagingHarness('usecasestop');
    await h.db.pool.query('CREATE TABLE effects (seq bigserial PRIMARY KEY, event_id uuid NOT NULL)');
  });

  afterAll(async () => {
    for (const messaging of running) await messaging.stop();
    await h?.close();
  });

  it('leaves an event fetched during stop to the next member, and handles it there once', async () => {
    const first = new RecordingUseCase();
    const messaging = await start(first);
    const slow = cloudEventMessage(EndpointUpdated, { ...endpointUpdated(randomUUID(), 1), path: '/stop/slow' }, { partition: 0 });
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), [slow]);
    await eventually(() => expect(first.started).toContain(slow.headers.ce_id), { timeoutMs: 30_000, intervalMs: 20 });

    const stopping = messaging.stop(SLOW_MS * 3);
    const late = cloudEventMessage(EndpointUpdated, endpointUpdated(randomUUID(), 1), { partition: 1 });
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), [late]);
    await stopping;
    // The handler in flight finished within the deadline; nothing began after stop() was called.
    expect(await effectsOf(slow.headers.ce_id)).toBe(1);
    await sleep(1000);
    expect(first.started).toEqual([slow.headers.ce_id]);
    expect(await effectsOf(late.headers.ce_id)).toBe(0);

    const next = new RecordingUseCase();
    await start(next);
    await eventually(async () => expect(await effectsOf(late.headers.ce_id)).toBe(1), { timeoutMs: 30_000, intervalMs: 100 });
    expect(next.started).toEqual([late.headers.ce_id]);
  });
});
