import { ConcurrencyError, EventIdConflictError, type EventStore } from '../../src';
import { newEvent, stream } from '../support/store-database';

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the append to be refused');
}

export function appendConformance(store: () => EventStore): void {
  describe('append', () => {
    it('appends several events atomically at versions 1..n, returning the version and their positions', async () => {
      const s = stream();
      const events = [newEvent('A', { n: 1 }), newEvent('B', { n: 2 }), newEvent('C', { n: 3 })];
      const result = await store().append(s, events, { expectedVersion: 'no_stream' });
      expect(result.streamVersion).toBe(3);
      expect(result.replayed).toBe(false);
      expect(result.globalPositions).toHaveLength(3);
      expect([...result.globalPositions].sort((a, b) => a - b)).toEqual(result.globalPositions);
      expect(new Set(result.globalPositions).size).toBe(3);
      expect(result.position.globalPosition).toBe(result.globalPositions[2]);
      const stored = await store().readStream(s);
      expect(stored.map((e) => [e.id, e.streamVersion, e.globalPosition])).toEqual(events.map((e, i) => [e.id, i + 1, result.globalPositions[i]]));
      expect(new Set(stored.map((e) => e.transactionId))).toEqual(new Set([result.position.transactionId]));
      expect(await store().streamVersion(s)).toBe(3);
    });

    it("'no_stream' refuses an existing stream with a typed error carrying expected and actual", async () => {
      const s = stream();
      await store().append(s, [newEvent('A', {}), newEvent('A', {})], { expectedVersion: 'no_stream' });
      const error = await refusal(store().append(s, [newEvent('A', {})], { expectedVersion: 'no_stream' }));
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(error).toMatchObject({ name: 'ConcurrencyError', stream: s, expected: 'no_stream', actual: 2, retriable: false });
      expect(await store().streamVersion(s)).toBe(2);
    });

    it('an exact version appends only when it is the current one; 0 means no stream', async () => {
      const s = stream();
      await store().append(s, [newEvent('A', {})], { expectedVersion: 0 });
      await store().append(s, [newEvent('A', {}), newEvent('A', {})], { expectedVersion: 1 });
      expect(await store().streamVersion(s)).toBe(3);
      const stale = await refusal(store().append(s, [newEvent('A', {})], { expectedVersion: 1 }));
      expect(stale).toMatchObject({ stream: s, expected: 1, actual: 3 });
      const ahead = await refusal(store().append(s, [newEvent('A', {})], { expectedVersion: 7 }));
      expect(ahead).toMatchObject({ expected: 7, actual: 3 });
      expect(await store().readStream(s)).toHaveLength(3);
    });

    it("'stream_exists' refuses a missing stream (actual 0) and appends to an existing one", async () => {
      const s = stream();
      const error = await refusal(store().append(s, [newEvent('A', {})], { expectedVersion: 'stream_exists' }));
      expect(error).toMatchObject({ name: 'ConcurrencyError', expected: 'stream_exists', actual: 0 });
      await store().append(s, [newEvent('A', {})]);
      expect((await store().append(s, [newEvent('A', {})], { expectedVersion: 'stream_exists' })).streamVersion).toBe(2);
    });

    it("'any' (the default) appends to missing and existing streams", async () => {
      const s = stream();
      expect((await store().append(s, [newEvent('A', {})], { expectedVersion: 'any' })).streamVersion).toBe(1);
      expect((await store().append(s, [newEvent('A', {})])).streamVersion).toBe(2);
    });

    it('a batch with one bad event stores none of them', async () => {
      const taken = newEvent('A', { taken: true });
      await store().append(stream(), [taken]);
      const s = stream();
      await store().append(s, [newEvent('A', {})]);
      const error = await refusal(store().append(s, [newEvent('A', {}), newEvent('B', {}), taken]));
      expect(error).toBeInstanceOf(EventIdConflictError);
      expect(error).toMatchObject({ eventId: taken.id, stream: s });
      expect(await store().readStream(s)).toHaveLength(1);
    });

    it('a retried append (same ids, same stream, same place) is a replay: same result, no duplicates', async () => {
      const s = stream();
      await store().append(s, [newEvent('A', {})]);
      const batch = [newEvent('B', { n: 1 }, { correlationId: 'c-1' }), newEvent('C', { n: 2 })];
      const first = await store().append(s, batch, { expectedVersion: 1 });
      await store().append(s, [newEvent('D', {})]);
      // The retry carries the expected version of the original request, long outdated by now.
      const retry = await store().append(s, batch, { expectedVersion: 1 });
      expect(retry).toEqual({ ...first, replayed: true });
      const again = await store().append(s, batch, { expectedVersion: 'any' });
      expect(again).toEqual({ ...first, replayed: true });
      const stored = await store().readStream(s);
      expect(stored.map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
      expect(await store().streamVersion(s)).toBe(4);
    });

    it('a reused id with other content, in another stream or at another place is refused', async () => {
      const s = stream();
      const a = newEvent('A', { n: 1 });
      const b = newEvent('B', { n: 2 });
      await store().append(s, [a, b]);
      const otherData = await refusal(store().append(s, [{ ...a, data: { n: 99 } }, b]));
      expect(otherData).toMatchObject({ name: 'EventIdConflictError', eventId: a.id });
      const otherType = await refusal(store().append(s, [a, { ...b, type: 'X' }]));
      expect(otherType).toMatchObject({ name: 'EventIdConflictError', eventId: b.id });
      const otherStream = await refusal(store().append(stream(), [a, b]));
      expect(otherStream).toBeInstanceOf(EventIdConflictError);
      const otherOrder = await refusal(store().append(s, [b, a]));
      expect(otherOrder).toBeInstanceOf(EventIdConflictError);
      const mixed = await refusal(store().append(s, [a, b, newEvent('C', {})]));
      expect(mixed).toBeInstanceOf(EventIdConflictError);
      expect(await store().streamVersion(s)).toBe(2);
    });

    it('refuses malformed appends before storing anything', async () => {
      const s = stream();
      await expect(store().append(s, [])).rejects.toThrow(/no events/);
      await expect(store().append(s, [{ id: 'not-a-uuid', type: 'A', data: {} }])).rejects.toThrow(/not a UUID/);
      const twice = newEvent('A', {});
      await expect(store().append(s, [twice, twice])).rejects.toThrow(/appears twice/);
      await expect(store().append(s, [newEvent('A', {})], { expectedVersion: -3 })).rejects.toThrow(RangeError);
      expect(await store().streamVersion(s)).toBe(0);
    });
  });
}
