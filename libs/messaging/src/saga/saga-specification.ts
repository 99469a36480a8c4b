import type { EventClass } from '@platform/contracts';
import type { Saga, SagaDecision, SagaInput, SagaJson } from './saga';

/** The outcome of `when`: the decision on the input, and the state after it. */
export interface SagaOutcome<S> {
  readonly decision: SagaDecision;
  readonly state: S;
  /** The types sent, in order (`contract.type`), for short assertions. */
  readonly sentTypes: readonly string[];
}

/**
 * Given/when/then for a saga's pure logic, with no Kafka and no database: `given` inputs are
 * folded into the state with `evolve` (what the instance has seen), `when` decides on one more
 * input and evolves it, `then` checks the outcome.
 *
 *   sagaSpecification(closure).given(started, apisRetired).when(goodbyeSent).then(({ decision }) => ...)
 */
export function sagaSpecification<S extends SagaJson, E extends readonly EventClass[]>(saga: Saga<S, E>, key = 'instance') {
  return {
    given(...history: readonly SagaInput<E>[]) {
      const state = history.reduce((s, input) => saga.evolve(s, input), saga.initialState(key));
      return {
        when(input: SagaInput<E>) {
          const decision = saga.decide(state, input);
          const outcome: SagaOutcome<S> = {
            decision,
            state: saga.evolve(state, input),
            sentTypes: (decision.send ?? []).map((s) => s.event.contract.type),
          };
          return {
            outcome,
            then(check: (outcome: SagaOutcome<S>) => void): SagaOutcome<S> {
              check(outcome);
              return outcome;
            },
          };
        },
      };
    },
  };
}
