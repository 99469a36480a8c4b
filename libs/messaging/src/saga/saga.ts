import type { EventClass } from '@platform/contracts';
import type { RetryPolicy } from '../consumer/retry-policy';
import type { EnvelopeOf } from '../consumer/use-case';
import type { PendingEvent } from '../outbox/publisher';

/** What a saga's state may hold: it is stored as JSON with its instance. */
export type SagaJson = null | boolean | number | string | readonly SagaJson[] | { readonly [key: string]: SagaJson };

/** One input of a saga instance: a message of one of its types, or one of its own timeouts firing. */
export type SagaInput<E extends readonly EventClass[] = readonly EventClass[]> =
  | { readonly kind: 'message'; readonly message: EnvelopeOf<E> }
  | { readonly kind: 'timeout'; readonly name: string; readonly data: SagaJson };

/** A timeout of one instance, by name: scheduling a name again moves it. */
export interface ScheduledTimeout {
  readonly name: string;
  readonly afterMs: number;
  readonly data?: SagaJson;
}

export type SagaEnding = 'completed' | 'compensated' | 'failed';

/** What one input makes an instance do. All of it commits with the instance's new state, or none of it. */
export interface SagaDecision {
  /** Commands and events, sent through the outbox, caused by the input. */
  readonly send?: readonly PendingEvent[];
  readonly schedule?: readonly ScheduledTimeout[];
  readonly cancel?: readonly string[];
  /** The instance ends: its timeouts go, and later messages for it are recorded and ignored. */
  readonly end?: SagaEnding;
}

/**
 * A saga (process manager): a use case with state, one instance per correlation key. Declared
 * like a use case (its own consumer group `<service>.<name>`, the event types it reacts to), with
 * pure logic: `decide` says what an input makes the instance do, `evolve` what it makes of its
 * state. The library keeps the state, the inbox record, the messages sent and the timeouts of
 * each input in one transaction of the service's own database.
 */
export interface Saga<S extends SagaJson = SagaJson, E extends readonly EventClass[] = readonly EventClass[]> {
  /** kebab-case, unique within the service; part of the consumer group id. */
  readonly name: string;
  readonly events: E;
  /** The instance a message belongs to (its correlation key), for each of the saga's types. */
  correlate(message: EnvelopeOf<E>): string;
  /**
   * The types that may start an instance. A message of another type for an instance that does
   * not exist yet is kept with the instance-to-be (never dead-lettered) and given to it, in
   * arrival order, once a starting message created it; it is dropped, logged, if none comes
   * within `earlyMessageTtlMs`.
   */
  readonly startedBy: readonly EventClass[];
  /** How long messages wait for an instance that does not exist yet (default one hour). */
  readonly earlyMessageTtlMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  initialState(key: string): S;
  decide(state: S, input: SagaInput<E>): SagaDecision;
  evolve(state: S, input: SagaInput<E>): S;
}

export function isSaga(useCase: object): useCase is Saga {
  return typeof (useCase as Saga).decide === 'function' && typeof (useCase as Saga).evolve === 'function' && 'startedBy' in useCase;
}
