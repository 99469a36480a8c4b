import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@platform/core';
import { UpcastError } from '@platform/contracts';
import { loadAggregate, PostgresEventStore, ProjectionFailedError, ProjectionRunner, type Projection, type RecordedEvent, type SubscriptionEnd } from '../src';
import { SeatBookedV1, SeatBookedV2 } from './fixtures/seat-booked.events';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(60_000);

const V1 = SeatBookedV1.contract.ceType;
const V2 = SeatBookedV2.contract.ceType;

/** Seats in a table: one row per event applied. */
const seats: Projection = {
  name: 'seats',
  eventTypes: [V2],
  async apply(event: RecordedEvent, tx: SqlClient) {
    const data = event.data as SeatBookedV2;
    await tx.query('INSERT INTO seats (event_id, seat_row, letter, is_v2, upcast_from) VALUES ($1, $2, $3, $4, $5)', [
      event.id,
      data.row,
      data.letter,
      event.type === V2 && data instanceof SeatBookedV2,
      event.upcastFrom?.version ?? null,
    ]);
  },
  async truncate(tx: SqlClient) {
    await tx.query('TRUNCATE seats');
  },
};

describe('the event store reads events stored as an older contract version upcast (real PostgreSQL)', () => {
  let h: StoreDatabase;
  /** The code after the move to v2: reads SeatBooked at v2. */
  let store: PostgresEventStore;
  const bookingId = randomUUID();
  const booking = stream('booking');
  // Written by the code before the move (v1), then after it (v2).
  const stored = [newEvent(V1, { bookingId, seat: '12A' }), newEvent(V2, { bookingId, row: 14, letter: 'C' })];
  const asV2 = [
    { id: stored[0].id, type: V2, data: { bookingId, row: 12, letter: 'A' }, upcastFrom: { type: V1, version: 1 } },
    { id: stored[1].id, type: V2, data: { bookingId, row: 14, letter: 'C' } },
  ];

  beforeAll(async () => {
    h = await storeDatabase('upcasting');
    await h.db.pool.query('CREATE TABLE seats (event_id uuid, seat_row int, letter text, is_v2 boolean, upcast_from int)');
    store = new PostgresEventStore(h.db.pool, { upcastTo: [SeatBookedV2] });
    await h.store.append(booking, [stored[0]], { expectedVersion: 'no_stream' });
    await store.append(booking, [stored[1]], { expectedVersion: 1 });
  });
  afterAll(async () => {
    store?.close();
    await h?.close();
  });

  it('reads a stream with the v1 event as a validated v2 that says it was stored as v1; a store without upcasters reads it as stored', async () => {
    const read = await store.readStream(booking);
    expect(read).toMatchObject(asV2);
    expect(read[0].data).toBeInstanceOf(SeatBookedV2);
    expect(read[1].upcastFrom).toBeUndefined();
    expect(await store.transaction((tx) => tx.readStream(booking))).toMatchObject(asV2);
    expect(await store.transaction(({ sql }) => store.inTransaction(sql).readStream(booking))).toMatchObject(asV2);
    expect((await h.store.readStream(booking))[0]).toMatchObject({ type: V1, data: { bookingId, seat: '12A' } });
  });

  it('loads an aggregate from the stream as v2 events', async () => {
    const decider = {
      initialState: () => [] as string[],
      evolve: (taken: string[], event: { type: string; data: unknown }) => {
        if (event.type !== V2) throw new Error(`the v2 code met ${event.type}`);
        const { row, letter } = event.data as SeatBookedV2;
        return [...taken, `${row}${letter}`];
      },
    };
    expect(await loadAggregate(store, decider, booking)).toMatchObject({ state: ['12A', '14C'], version: 2 });
  });

  it('reads the global order filtered to v2 with the events stored as v1, upcast', async () => {
    const page = await store.readAll({ types: [V2] });
    expect(page.events).toMatchObject(asV2);
  });

  it('delivers them to a catch-up subscription as v2', async () => {
    const delivered: RecordedEvent[] = [];
    const subscription = store.subscribe({ types: [V2], pollIntervalMs: 100, handler: (event) => void delivered.push(event) });
    try {
      await waitFor(() => delivered.length >= 2);
      expect(delivered).toMatchObject(asV2);
      expect(delivered[0].data).toBeInstanceOf(SeatBookedV2);
    } finally {
      await subscription.stop();
    }
  });

  it('applies them to a projection as v2, and again on a rebuild', async () => {
    const runner = new ProjectionRunner(store, seats, { batchSize: 1 });
    const expected = [
      { event_id: stored[0].id, seat_row: 12, letter: 'A', is_v2: true, upcast_from: 1 },
      { event_id: stored[1].id, seat_row: 14, letter: 'C', is_v2: true, upcast_from: null },
    ];
    const rows = async () => (await h.db.pool.query('SELECT * FROM seats ORDER BY seat_row')).rows;
    await runner.catchUp();
    expect(await rows()).toEqual(expected);
    await h.db.pool.query('UPDATE seats SET seat_row = seat_row + 50');
    await runner.rebuild();
    expect(await rows()).toEqual(expected);
  });

  describe('a stored v1 event its upcaster makes no valid v2 of', () => {
    const broken = stream('broken');
    const bad = newEvent(V1, { bookingId: randomUUID(), seat: 'aisle' });

    beforeAll(async () => {
      await h.store.append(broken, [bad]);
    });

    it('fails the stream read with the UpcastError', async () => {
      await expect(store.readStream(broken)).rejects.toThrow(UpcastError);
      await expect(store.readStream(broken)).rejects.toThrow(/Cannot upcast fixtures.seat-booked v1 to v2: the upcaster's result is not a valid v2: row/);
    });

    it('ends a subscription at that event, after delivering those before it', async () => {
      const delivered: string[] = [];
      const subscription = store.subscribe({ types: [V2], pollIntervalMs: 100, handler: (event) => void delivered.push(event.id) });
      const end: SubscriptionEnd = await subscription.ended;
      expect(end).toMatchObject({ reason: 'failed', event: { id: bad.id, type: V1 } });
      expect((end as { error: unknown }).error).toBeInstanceOf(UpcastError);
      expect(delivered).toEqual(stored.map((e) => e.id));
    });

    it('stops a projection at that event with the error in its status', async () => {
      const runner = new ProjectionRunner(store, seats, { batchSize: 10 });
      await expect(runner.catchUp()).rejects.toThrow(ProjectionFailedError);
      const status = await runner.status();
      expect(status.status).toBe('failed');
      expect(status.failure).toMatchObject({ eventId: bad.id });
      expect(status.failure?.error).toMatch(/Cannot upcast fixtures.seat-booked v1 to v2/);
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
