import { CommandHandler, ConcurrencyError, loadAggregate, type EventStore } from '../../src';
import { stream } from '../support/store-database';
import { counter, snapshotsEvery } from './counter.decider';

export function aggregateConformance(store: () => EventStore): void {
  describe('snapshots', () => {
    it('stores the latest snapshot of a stream; an older one does not replace it', async () => {
      const s = stream();
      expect(await store().readSnapshot(s)).toBeUndefined();
      await store().writeSnapshot({ streamId: s, schemaVersion: 1, streamVersion: 10, state: { total: 10 } });
      await store().writeSnapshot({ streamId: s, schemaVersion: 1, streamVersion: 5, state: { total: 5 } });
      expect(await store().readSnapshot(s)).toEqual({ streamId: s, schemaVersion: 1, streamVersion: 10, state: { total: 10 } });
    });

    it('a snapshot of another schema version replaces the stored one, even at an older version', async () => {
      const s = stream();
      await store().writeSnapshot({ streamId: s, schemaVersion: 1, streamVersion: 10, state: { total: 10 } });
      await store().writeSnapshot({ streamId: s, schemaVersion: 2, streamVersion: 4, state: { sum: 4 } });
      expect(await store().readSnapshot(s)).toEqual({ streamId: s, schemaVersion: 2, streamVersion: 4, state: { sum: 4 } });
    });
  });

  describe('aggregates (decide/evolve with snapshots)', () => {
    it('handles commands: load, decide, append with the loaded version; snapshots every N events', async () => {
      const s = stream('counter');
      const handler = new CommandHandler(store(), counter, { snapshots: snapshotsEvery(3) });
      for (const add of [1, 2, 3, 4, 5, 6, 7]) await handler.handle(s, { add });
      expect(await store().readSnapshot(s)).toMatchObject({ schemaVersion: 1, streamVersion: 6, state: { total: 21, changes: 6 } });
      const loaded = await handler.load(s);
      expect(loaded).toEqual({ state: { total: 28, changes: 7 }, version: 7, snapshotVersion: 6, eventsReplayed: 1 });
    });

    it('builds state from the snapshot, not from the events before it', async () => {
      const s = stream('counter');
      const plain = new CommandHandler(store(), counter);
      await plain.handle(s, { add: 1 });
      await plain.handle(s, { add: 1 });
      const handler = new CommandHandler(store(), counter, { snapshots: snapshotsEvery(2) });
      // A state no fold of these events could give: proof the loader started from the snapshot.
      await store().writeSnapshot({ streamId: s, schemaVersion: 1, streamVersion: 2, state: { total: 1000, changes: 2 } });
      await handler.handle(s, { add: 1 });
      expect((await handler.load(s)).state).toEqual({ total: 1001, changes: 3 });
    });

    it('ignores a snapshot of another schema version and rebuilds from events', async () => {
      const s = stream('counter');
      await store().writeSnapshot({ streamId: s, schemaVersion: 1, streamVersion: 2, state: { total: 1000, changes: 2 } });
      const v2 = new CommandHandler(store(), counter, { snapshots: snapshotsEvery(4, 2) });
      await v2.handle(s, { add: 1 });
      await v2.handle(s, { add: 2 });
      await v2.handle(s, { add: 3 });
      expect(await v2.load(s)).toEqual({ state: { total: 6, changes: 3 }, version: 3, snapshotVersion: undefined, eventsReplayed: 3 });
      await v2.handle(s, { add: 4 });
      expect(await store().readSnapshot(s)).toMatchObject({ schemaVersion: 2, streamVersion: 4, state: { total: 10, changes: 4 } });
      const plain = await loadAggregate(store(), counter, s);
      expect(plain).toEqual({ state: { total: 10, changes: 4 }, version: 4, snapshotVersion: undefined, eventsReplayed: 4 });
    });

    it('refuses a command when the stream moved since it was loaded', async () => {
      const s = stream('counter');
      const handler = new CommandHandler(store(), counter);
      await handler.handle(s, { add: 1 });
      // A store whose reads let a competing writer in right after the handler loaded the stream.
      let competed = false;
      const racing: EventStore = Object.create(store(), {
        readStream: {
          value: async (name: string, options: object) => {
            const events = await store().readStream(name, options);
            if (!competed) {
              competed = true;
              await new CommandHandler(store(), counter).handle(s, { add: 10 });
            }
            return events;
          },
        },
      });
      const error = await new CommandHandler(racing, counter).handle(s, { add: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(error).toMatchObject({ stream: s, expected: 1, actual: 2 });
      expect((await handler.load(s)).state.total).toBe(11);
    });

    it('checks the caller’s expected version (If-Match) before deciding', async () => {
      const s = stream('counter');
      const handler = new CommandHandler(store(), counter);
      await handler.handle(s, { add: 1 });
      await handler.handle(s, { add: 1 });
      await expect(handler.handle(s, { add: 1 }, { expectedVersion: 1 })).rejects.toMatchObject({ name: 'ConcurrencyError', expected: 1, actual: 2 });
      const result = await handler.handle(s, { add: 5 }, { expectedVersion: 2, metadata: { correlationId: 'req-1' } });
      expect(result.version).toBe(3);
      expect(result.state.total).toBe(7);
      expect(result.events).toEqual([expect.objectContaining({ type: 'Added', data: { n: 5 }, metadata: { correlationId: 'req-1' } })]);
      const [last] = await store().readStream(s, { backwards: true, limit: 1 });
      expect(last).toMatchObject({ id: result.events[0].id, metadata: { correlationId: 'req-1' } });
    });

    it('propagates domain refusals and appends nothing; a command deciding nothing appends nothing', async () => {
      const s = stream('counter');
      const handler = new CommandHandler(store(), counter);
      await handler.handle(s, { add: 2 });
      await expect(handler.handle(s, { add: -5 })).rejects.toThrow('below zero');
      expect(await handler.handle(s, { add: 0 })).toEqual({ state: { total: 2, changes: 1 }, version: 1, events: [] });
      expect(await store().streamVersion(s)).toBe(1);
    });
  });
}
