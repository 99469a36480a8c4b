import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, TopicReader } from '@platform/testing';
import { DLQ, NonRetriableError, ServiceMessaging, type EnvelopeOf, type EventWindow, type UseCase, type WindowedUseCase } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** Refuses every event: its letters go straight to Kafka (DeadLetterWriter). */
class RefusingUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'refusing';
  readonly events = EVENTS;

  async handle(event: Envelope): Promise<void> {
    throw new NonRetriableError(`event ${event.id} refused by refusingHandler`);
  }
}

/** Fails every window with a programmer error (never retried): its letters go through the outbox, in the closing transaction. */
class RefusingWindows implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'refusing-windows';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 200, graceMs: 0, time: 'processing' } as const;

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>): Promise<void> {
    throw new RangeError(`window of ${window.key} refused by refusingWindowHandler`);
  }
}

/**
 * Dead letters always say what failed (the error's message and name); the stack trace, which
 * shows code paths to whoever may read the dead-letter topic, only with deadLetterStacks
 * (DEAD_LETTER_STACKS=true in a service). Both ways letters are written: to Kafka directly and
 * through the outbox.
 */
describe.each([
  { stacks: false, service: 'stacks-off' },
  { stacks: true, service: 'stacks-on' },
])('dead letters with deadLetterStacks: $stacks (real Kafka and PostgreSQL)', ({ stacks, service }) => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  let letters: TopicReader;

  beforeAll(async () => {
    h = await messagingHarness(`dlq_${service.replace('-', '_')}`);
    messaging = new ServiceMessaging({
      service,
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [],
      useCases: [new RefusingUseCase(), new RefusingWindows()],
      logger: h.logger,
      ...(stacks ? { deadLetterStacks: true } : {}),
    });
    await messaging.start();
    letters = await new TopicReader(
      h.brokers,
      messaging.consumers.map((c) => c.deadLetterTopic),
    ).start();
  });

  afterAll(async () => {
    await letters?.stop();
    await messaging?.stop();
    await h?.close();
  });

  it('gives a refused event and a given-up window their error message and name, and a stack only when configured', async () => {
    const ownerId = randomUUID();
    const message = cloudEventMessage(EndpointUpdated, { apiId: randomUUID(), ownerId, endpointId: randomUUID(), method: 'GET', path: '/x', upstreamUrl: 'http://up.internal', change: 'added', version: 1 });
    await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), [message]);
    const [eventTopic, windowTopic] = messaging.consumers.map((c) => c.deadLetterTopic);
    const letterOf = (topic: string) =>
      eventually(
        () => {
          const found = letters.messages.find((m) => m.topic === topic && m.headers.ce_id === message.headers.ce_id);
          expect(found).toBeDefined();
          return found!;
        },
        { timeoutMs: 30_000 },
      );

    const direct = await letterOf(eventTopic);
    expect(direct.headers).toMatchObject({ [DLQ.reason]: 'non-retriable', [DLQ.errorName]: 'NonRetriableError', [DLQ.errorMessage]: `event ${message.headers.ce_id} refused by refusingHandler` });
    const windowed = await letterOf(windowTopic);
    expect(windowed.headers).toMatchObject({ [DLQ.reason]: 'non-retriable', [DLQ.errorName]: 'RangeError', [DLQ.errorMessage]: `window of ${ownerId} refused by refusingWindowHandler` });

    if (stacks) {
      expect(direct.headers[DLQ.errorStack]).toContain('RefusingUseCase.handle');
      expect(windowed.headers[DLQ.errorStack]).toContain('RefusingWindows.handleWindow');
    } else {
      expect(direct.headers[DLQ.errorStack]).toBeUndefined();
      expect(windowed.headers[DLQ.errorStack]).toBeUndefined();
    }
  });
});
