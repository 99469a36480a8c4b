import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, waitForNoLag } from '@platform/testing';
import { ServiceMessaging, type Broker, type EnvelopeOf, type EventWindow, type GroupConsumer, type HandlerContext, type UseCase, type WindowedUseCase } from '../src';
import { cloudEventMessage, endpointUpdated, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/**
 * The real kafkajs broker, whose group consumers can be made to give up the way kafkajs does when
 * it cannot find the group coordinator after a broker restart: the client disconnects and reports
 * a crash it will not restart from. That is the one injected fault; the broker, the group and the
 * database are real.
 */
class GivingUpBroker implements Broker {
  private readonly crashes: { consumer: GroupConsumer; crash: (error: Error) => void }[] = [];

  constructor(private readonly real: Broker) {}

  producer: Broker['producer'] = (options) => this.real.producer(options);
  admin: Broker['admin'] = () => this.real.admin();

  async consumer(options: { groupId: string; clientId?: string }): Promise<GroupConsumer> {
    const consumer = await this.real.consumer(options);
    return {
      ...consumer,
      onCrash: (listener) => {
        consumer.onCrash(listener);
        this.crashes.push({ consumer, crash: listener });
      },
    };
  }

  /** Every consumer made so far gives up: disconnected, crash reported. */
  async giveUp(): Promise<number> {
    const now = this.crashes.splice(0);
    for (const { consumer, crash } of now) {
      await consumer.stop();
      crash(new Error('KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator (injected)'));
    }
    return now.length;
  }
}

class RecordingUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'recorder';
  readonly events = EVENTS;

  async handle(event: Envelope, { tx }: HandlerContext): Promise<void> {
    await tx.query('INSERT INTO effects (use_case, event_id) VALUES ($1, $2)', [this.name, event.id]);
  }
}

class RecordingWindows implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'window-recorder';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling' as const, sizeMs: 300, graceMs: 0, time: 'processing' as const };

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx }: HandlerContext): Promise<void> {
    for (const event of window.events) await tx.query('INSERT INTO effects (use_case, event_id) VALUES ($1, $2)', [this.name, event.id]);
  }
}

describe('a use case whose Kafka client gave up', () => {
  let h: MessagingHarness;
  let broker: GivingUpBroker;
  let messaging: ServiceMessaging;

  beforeAll(async () => {
    h = await messagingHarness('rejoin');
    // No unique key: an event handled twice shows as two rows.
    await h.db.pool.query('CREATE TABLE effects (use_case text, event_id uuid)');
    broker = new GivingUpBroker(h.broker);
    messaging = new ServiceMessaging({
      service: 'rejoin',
      broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [],
      useCases: [new RecordingUseCase(), new RecordingWindows()],
      logger: h.logger,
    });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  const send = async (count: number) => {
    const messages = Array.from({ length: count }, (_, i) => cloudEventMessage(EndpointUpdated, { ...endpointUpdated(randomUUID(), i + 1), ownerId: randomUUID() }));
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), messages);
    return messages.map((m) => m.headers.ce_id);
  };

  const handledOnce = (ids: readonly string[]) =>
    eventually(
      async () => {
        const { rows } = await h.db.pool.query<{ use_case: string; event_id: string; n: number }>(
          'SELECT use_case, event_id::text, count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[]) GROUP BY 1, 2',
          [ids],
        );
        for (const useCase of ['recorder', 'window-recorder']) {
          const seen = rows.filter((r) => r.use_case === useCase);
          expect({ useCase, handled: seen.length, twice: seen.filter((r) => r.n > 1).length }).toEqual({ useCase, handled: ids.length, twice: 0 });
        }
      },
      { timeoutMs: 60_000 },
    );

  it('joins its group again with a new client, handles what came meanwhile once, and commits to the end', async () => {
    const before = await send(20);
    await handledOnce(before);

    expect(await broker.giveUp()).toBe(2);
    expect(messaging.consumers.map((c) => c.status)).toEqual(['rejoining', 'rejoining']);
    const during = await send(20);

    await eventually(() => expect(messaging.consumers.map((c) => c.status)).toEqual(['running', 'running']), { timeoutMs: 30_000 });
    await handledOnce([...before, ...during]);
    await waitForNoLag(h.brokers, messaging.consumers.map((c) => c.groupId), [h.naming.topic(EndpointUpdated)], 30_000);
  });

  it('keeps working after giving up twice in a row', async () => {
    await broker.giveUp();
    await eventually(() => expect(messaging.consumers.map((c) => c.status)).toEqual(['running', 'running']), { timeoutMs: 30_000 });
    await broker.giveUp();
    const ids = await send(10);
    await handledOnce(ids);
    expect(messaging.consumers.map((c) => c.status)).toEqual(['running', 'running']);
  });
});
