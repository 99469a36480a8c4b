import type { EventStore } from '../store/event-store';
import { fold, type Decider, type DomainEvent, type SnapshotPolicy } from './decider';

export interface LoadedAggregate<S> {
  readonly state: S;
  /** The stream version the state reflects; 0 for a stream without events. */
  readonly version: number;
  /** The snapshot's version when one was used. */
  readonly snapshotVersion?: number;
  /** Events folded on top of the snapshot (or the initial state). */
  readonly eventsReplayed: number;
}

/**
 * The state of one stream: from the latest snapshot of the expected schema version (a stale
 * one is ignored) plus the events after it, or from all events.
 */
export async function loadAggregate<E extends DomainEvent, S>(
  store: Pick<EventStore, 'readStream' | 'readSnapshot'>,
  decider: Pick<Decider<unknown, E, S>, 'initialState' | 'evolve'>,
  stream: string,
  snapshots?: SnapshotPolicy<S>,
): Promise<LoadedAggregate<S>> {
  let state = decider.initialState();
  let version = 0;
  let snapshotVersion: number | undefined;
  if (snapshots) {
    const snapshot = await store.readSnapshot(stream);
    if (snapshot && snapshot.schemaVersion === snapshots.schemaVersion) {
      state = snapshots.fromSnapshot ? snapshots.fromSnapshot(snapshot.state) : (snapshot.state as S);
      version = snapshotVersion = snapshot.streamVersion;
    }
  }
  const events = await store.readStream(stream, { from: version + 1 });
  state = fold(
    decider.evolve,
    state,
    events.map((event) => ({ type: event.type, data: event.data }) as E),
  );
  if (events.length > 0) version = events[events.length - 1].streamVersion;
  return { state, version, snapshotVersion, eventsReplayed: events.length };
}
