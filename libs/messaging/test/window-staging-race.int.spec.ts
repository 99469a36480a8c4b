import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { withTransaction } from '@platform/core';
import { sleep } from '@platform/testing';
import type { ReceivedEnvelope } from '../src';
import { stageEvents } from '../src/windowing/window-store';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

/**
 * Found by the chaos run (six events in two digests each): after a rebalance the old owner of a
 * partition was still staging a batch when the new owner staged the same events; with processing
 * time each picked its own window, nothing conflicted, and both windows were handled.
 */
describe('two members staging the same event at once', () => {
  let h: MessagingHarness;

  beforeAll(async () => {
    h = await messagingHarness('staging_race');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('stage it once: the second finds it staged by the first', async () => {
    const group = 'race.windows';
    const payload = { apiId: randomUUID(), ownerId: randomUUID(), endpointId: randomUUID(), method: 'GET', path: '/r', upstreamUrl: 'http://up.internal', change: 'added', version: 1 } as EndpointUpdated;
    const envelope = { id: randomUUID(), type: EndpointUpdated.contract.ceType, source: '/t', time: new Date().toISOString(), correlationId: 'c', causationId: null, key: payload.apiId, payload, event: EndpointUpdated, topic: 't', partition: 0, offset: '7' } as ReceivedEnvelope;
    const staged = (start: number) => ({ envelope, eventTime: start, windows: [{ key: payload.ownerId, start, end: start + 500, closeAt: start + 600 }] });
    const now = Date.now() + 60_000;
    // The first stager holds its transaction open; the second (a window later) runs meanwhile.
    const first = withTransaction(h.db.pool, async (tx) => {
      const result = await stageEvents(tx, group, [staged(now)]);
      await sleep(500);
      return result;
    });
    await sleep(100);
    const second = await withTransaction(h.db.pool, (tx) => stageEvents(tx, group, [staged(now + 500)]));
    await first;
    expect(second.duplicates.has(envelope.id)).toBe(true);
    const { rows } = await h.db.pool.query('SELECT window_start FROM messaging.window_events WHERE consumer_group = $1 AND event_id = $2', [group, envelope.id]);
    expect(rows).toHaveLength(1);
  });
});
