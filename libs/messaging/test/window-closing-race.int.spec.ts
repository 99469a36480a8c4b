import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, produceRaw, sleep } from '@platform/testing';
import { ServiceMessaging, type EnvelopeOf, type EventWindow, type HandlerContext, type WindowBatchContext, type WindowedUseCase } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** Short windows closing all the time, while every partition's stager keeps writing into the next ones. */
class ShortWindows implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'short-windows';
  readonly events = EVENTS;
  readonly window = { kind: 'tumbling', sizeMs: 50, graceMs: 0, time: 'processing' } as const;

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, context: HandlerContext): Promise<void> {
    await this.handleWindows([window], { ...context, publishAll: async () => [] });
  }

  async handleWindows(windows: readonly EventWindow<Envelope>[], { tx }: WindowBatchContext): Promise<void> {
    await tx.query('INSERT INTO handed (event_id) SELECT unnest($1::uuid[])', [windows.flatMap((w) => w.events.map((e) => e.id))]);
  }
}

describe('closing windows while stagers write into them (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;

  beforeAll(async () => {
    h = await messagingHarness('window_race');
    await h.db.pool.query('CREATE TABLE handed (event_id uuid NOT NULL)');
    messaging = new ServiceMessaging({ service: 'race', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [], useCases: [new ShortWindows()], logger: h.logger });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('hands every event to exactly one window while windows close under the stagers: none lost, none late, none twice', async () => {
    const owners = Array.from({ length: 10 }, () => randomUUID());
    const ids: string[] = [];
    // A steady stream for about three seconds: windows of 50 ms close every 50 ms meanwhile, with no grace.
    for (let tick = 0; tick < 60; tick++) {
      const messages = Array.from({ length: 80 }, (_, i) => {
        const message = cloudEventMessage(EndpointUpdated, {
          apiId: randomUUID(),
          ownerId: owners[i % owners.length],
          endpointId: randomUUID(),
          method: 'PUT',
          path: '/race',
          upstreamUrl: 'http://up.internal',
          change: 'updated',
          version: tick * 100 + i + 1,
        });
        ids.push(message.headers.ce_id);
        return message;
      });
      await produceRaw(h.brokers, h.naming.topic(EndpointUpdated), messages);
      await sleep(20);
    }
    const handed = async () => (await h.db.pool.query<{ event_id: string; n: number }>('SELECT event_id::text, count(*)::int AS n FROM handed GROUP BY event_id')).rows;
    await eventually(async () => expect((await handed()).length).toBe(ids.length), { timeoutMs: 60_000 });
    const rows = await handed();
    expect(rows.filter((r) => r.n > 1)).toEqual([]);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(ids));
  });
});
