/** A domain event as deciders see it: a type and its JSON data, nothing of storage. */
export interface DomainEvent {
  readonly type: string;
  readonly data: unknown;
}

/**
 * An aggregate as pure functions: state is the fold of its events with `evolve`; `decide`
 * turns a command and the current state into new events, or throws a domain error.
 */
export interface Decider<C, E extends DomainEvent, S> {
  initialState(): S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S): readonly E[];
}

/** Snapshots every `every` events, tagged with `schemaVersion`: bump it when the state's shape changes. */
export interface SnapshotPolicy<S> {
  readonly every: number;
  readonly schemaVersion: number;
  /** To JSON (default: the state as is). */
  toSnapshot?(state: S): unknown;
  fromSnapshot?(json: unknown): S;
}

/** A snapshot is due when an append carries the version across a multiple of `every`. */
export function snapshotDue(every: number, before: number, after: number): boolean {
  if (!Number.isSafeInteger(every) || every < 1) throw new RangeError(`snapshot interval must be an integer >= 1, got ${every}`);
  return Math.floor(after / every) > Math.floor(before / every);
}

export function fold<E extends DomainEvent, S>(evolve: (state: S, event: E) => S, state: S, events: readonly E[]): S {
  return events.reduce(evolve, state);
}
