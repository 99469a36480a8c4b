import type { ConsumerStatus } from '@platform/messaging';

/**
 * What the health endpoints decide, as pure functions of what was observed: the controller
 * gathers the observations (cheaply), these turn them into HTTP answers.
 *
 * - Liveness: the process can recover by itself. A use case whose Kafka client gave up rejoins
 *   its group with a new client (`rejoining`: still live); one that could not rejoin for its
 *   whole restart period counts as crashed for good, and only a restart of the pod helps.
 * - Readiness: the pod can serve its API, i.e. its database answers and its migrations are
 *   applied. Kafka is reported, not required: while it is away writes go to the outbox.
 */

export interface Check {
  readonly status: 'up' | 'down';
  readonly detail?: string;
}

export interface UseCaseHealth {
  readonly groupId: string;
  readonly status: ConsumerStatus;
}

export interface LivenessReport {
  readonly status: 'up' | 'down';
  /** Use cases whose consumer stopped for good (only when down). */
  readonly crashed?: readonly string[];
}

export interface LivenessDecision {
  readonly live: boolean;
  readonly body: LivenessReport;
}

export function liveness(useCases: readonly UseCaseHealth[]): LivenessDecision {
  const crashed = useCases.filter((u) => u.status === 'crashed').map((u) => u.groupId);
  return crashed.length === 0 ? { live: true, body: { status: 'up' } } : { live: false, body: { status: 'down', crashed } };
}

export interface ReadinessObservations {
  readonly database: Check;
  readonly migrations: Check;
  /** Whether the broker answers. */
  readonly broker: Check;
  /** Whether the service's messaging (topics, outbox relay, consumers) has started. */
  readonly messagingStarted: boolean;
  readonly useCases: readonly UseCaseHealth[];
}

export interface ReadinessReport {
  /** up: everything works; degraded: the API serves but events wait (Kafka, a use case); down: the API cannot serve. */
  readonly status: 'up' | 'degraded' | 'down';
  readonly checks: {
    readonly database: Check;
    readonly migrations: Check;
    readonly kafka: Check;
    readonly useCases: readonly UseCaseHealth[];
  };
}

export interface ReadinessDecision {
  /** HTTP 200 when ready (up or degraded), 503 when not. */
  readonly ready: boolean;
  readonly body: ReadinessReport;
}

/** Kafka as the service sees it: up when its messaging has started and the broker answers. */
export function kafkaCheck(broker: Check, messagingStarted: boolean): Check {
  if (broker.status === 'down') return broker;
  if (!messagingStarted) return { status: 'down', detail: 'messaging has not started yet (start is retried)' };
  return { status: 'up' };
}

export function readiness(observed: ReadinessObservations): ReadinessDecision {
  const kafka = kafkaCheck(observed.broker, observed.messagingStarted);
  const checks = { database: observed.database, migrations: observed.migrations, kafka, useCases: observed.useCases };
  const ready = observed.database.status === 'up' && observed.migrations.status === 'up';
  if (!ready) return { ready, body: { status: 'down', checks } };
  const consuming = observed.useCases.every((u) => u.status === 'running');
  return { ready, body: { status: kafka.status === 'up' && consuming ? 'up' : 'degraded', checks } };
}

export type KafkaTransition = 'went-down' | 'came-back';

/**
 * Kafka's state between probes, for logging once per transition and never per probe. Nothing
 * is tracked until Kafka has been up once: while messaging starts (or retries its start) it
 * logs for itself, so neither the first 'down' nor the first 'up' is a transition.
 */
export function kafkaTransition(
  previous: Check['status'] | undefined,
  current: Check['status'],
): { readonly state: Check['status'] | undefined; readonly transition?: KafkaTransition } {
  if (previous === undefined) return { state: current === 'up' ? 'up' : undefined };
  if (previous === 'up' && current === 'down') return { state: current, transition: 'went-down' };
  if (previous === 'down' && current === 'up') return { state: current, transition: 'came-back' };
  return { state: current };
}
