import { randomUUID } from 'node:crypto';
import { compareLogPositions, LOG_START, type EventStore, type LogPosition, type RecordedEvent } from '../../src';
import { eventually } from '@platform/testing';
import { newEvent, stream } from '../support/store-database';

/** Reads the whole global order after `after`, page by page. */
async function readAllAfter(store: EventStore, after: LogPosition, options: { limit?: number; types?: string[] } = {}): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let position = after;
  for (;;) {
    const page = await store.readAll({ after: position, ...options });
    events.push(...page.events);
    position = page.next;
    if (page.caughtUp) return events;
  }
}

async function end(store: EventStore): Promise<LogPosition> {
  let position = LOG_START;
  for (;;) {
    const page = await store.readAll({ after: position, limit: 10_000 });
    position = page.next;
    if (page.caughtUp) return position;
  }
}

export function readConformance(store: () => EventStore): void {
  describe('readStream', () => {
    const s = stream();
    const types = Array.from({ length: 10 }, (_, i) => `T${i + 1}`);

    beforeAll(async () => {
      await store().append(s, types.slice(0, 4).map((t) => newEvent(t, { t })));
      await store().append(s, types.slice(4).map((t) => newEvent(t, { t })));
    });

    const read = async (options: Parameters<EventStore['readStream']>[1]) => (await store().readStream(s, options)).map((e) => e.streamVersion);

    it('reads forwards, from a version, with a limit', async () => {
      expect(await read({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await read({ from: 4 })).toEqual([4, 5, 6, 7, 8, 9, 10]);
      expect(await read({ limit: 3 })).toEqual([1, 2, 3]);
      expect(await read({ from: 9, limit: 5 })).toEqual([9, 10]);
      expect(await read({ from: 11 })).toEqual([]);
    });

    it('reads backwards, from a version, with a limit', async () => {
      expect(await read({ backwards: true })).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(await read({ backwards: true, limit: 2 })).toEqual([10, 9]);
      expect(await read({ backwards: true, from: 3 })).toEqual([3, 2, 1]);
      expect(await read({ backwards: true, from: 6, limit: 2 })).toEqual([6, 5]);
    });

    it('reads a missing stream as empty, version 0', async () => {
      expect(await store().readStream(stream())).toEqual([]);
      expect(await store().streamVersion(stream())).toBe(0);
    });

    it('returns every field of a recorded event', async () => {
      const s2 = stream();
      const correlationId = randomUUID();
      const event = newEvent('Recorded', { nested: { list: [1, 'two', null] }, flag: true }, { correlationId, causationId: correlationId, tenant: 't-1' });
      const before = Date.now();
      const result = await store().append(s2, [event]);
      const [stored] = await store().readStream(s2);
      expect(stored).toEqual({
        id: event.id,
        type: 'Recorded',
        data: event.data,
        metadata: { correlationId, causationId: correlationId, tenant: 't-1' },
        streamId: s2,
        streamVersion: 1,
        globalPosition: result.globalPositions[0],
        transactionId: result.position.transactionId,
        recordedAt: expect.any(Date),
      });
      expect(stored.recordedAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
      expect(stored.recordedAt.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    });
  });

  describe('readAll', () => {
    it('returns every committed event once, in an order that keeps each stream in version order', async () => {
      const start = await end(store());
      const streams = [stream(), stream(), stream()];
      const appended: string[] = [];
      for (let round = 0; round < 4; round++) {
        for (const s of streams) {
          const batch = [newEvent('Round', { round }), newEvent('Round', { round })];
          await store().append(s, batch);
          appended.push(...batch.map((e) => e.id));
        }
      }
      // Readers wait for transactions still appending (other tests' too): wait until all are readable.
      const { all, ours } = await eventually(async () => {
        const read = await readAllAfter(store(), start);
        const mine = read.filter((e) => streams.includes(e.streamId));
        // Sequential appends: the global order is the order of the appends.
        expect(mine.map((e) => e.id)).toEqual(appended);
        return { all: read, ours: mine };
      });
      for (let i = 1; i < all.length; i++) expect(compareLogPositions(all[i - 1], all[i])).toBeLessThan(0);
      for (const s of streams) {
        expect(ours.filter((e) => e.streamId === s).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      }
    });

    it('pages with a limit and continues after `next` without gaps or repeats', async () => {
      const start = await end(store());
      const type = `Paged-${randomUUID()}`;
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const event = newEvent(type, { i });
        ids.push(event.id);
        await store().append(stream(), [event]);
      }
      await eventually(async () => expect((await readAllAfter(store(), start, { types: [type] })).map((e) => e.id)).toEqual(ids));
      const first = await store().readAll({ after: start, limit: 3, types: [type] });
      expect(first.events.map((e) => e.id)).toEqual(ids.slice(0, 3));
      expect(first.caughtUp).toBe(false);
      expect(first.next).toEqual({ transactionId: first.events[2].transactionId, globalPosition: first.events[2].globalPosition });
      const rest = await readAllAfter(store(), first.next, { limit: 3, types: [type] });
      expect(rest.map((e) => e.id)).toEqual(ids.slice(3));
    });

    it('filters by type, and a caught-up page moves `next` past the events filtered out', async () => {
      const start = await end(store());
      const wanted = `Wanted-${randomUUID()}`;
      const s = stream();
      await store().append(s, [newEvent(wanted, { i: 1 }), newEvent('Other', {}), newEvent(wanted, { i: 2 }), newEvent('Other', {})]);
      const [last] = await store().readStream(s, { backwards: true, limit: 1 });
      const page = await eventually(async () => {
        const read = await store().readAll({ after: start, types: [wanted] });
        expect(read.caughtUp).toBe(true);
        expect(read.events.map((e) => e.data)).toEqual([{ i: 1 }, { i: 2 }]);
        expect(compareLogPositions(read.next, last)).toBeGreaterThanOrEqual(0);
        return read;
      });
      const after = await store().readAll({ after: page.next, types: [wanted] });
      expect(after.events).toEqual([]);
    });

    it('reads from the start by default', async () => {
      const page = await store().readAll({ limit: 1 });
      expect(page.events).toHaveLength(1);
      expect(compareLogPositions(page.events[0], LOG_START)).toBeGreaterThan(0);
    });
  });
}
