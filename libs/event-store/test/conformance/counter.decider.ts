import type { Decider, SnapshotPolicy } from '../../src';

/** A tiny aggregate for the contract tests: a counter that refuses to go below zero. */
export type CounterCommand = { readonly add: number };
export type CounterEvent = { readonly type: 'Added'; readonly data: { readonly n: number } };
export interface CounterState {
  readonly total: number;
  readonly changes: number;
}

export const counter: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ total: 0, changes: 0 }),
  evolve: (state, event) => ({ total: state.total + event.data.n, changes: state.changes + 1 }),
  decide: (command, state) => {
    if (state.total + command.add < 0) throw new Error('the counter cannot go below zero');
    return command.add === 0 ? [] : [{ type: 'Added', data: { n: command.add } }];
  },
};

export const snapshotsEvery = (every: number, schemaVersion = 1): SnapshotPolicy<CounterState> => ({ every, schemaVersion });
