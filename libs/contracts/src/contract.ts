/**
 * An event contract: everything producers and consumers must agree on for one event type
 * and major version. The wire type and topic are declared strings, never class names, so
 * renaming or minifying a class cannot change what travels on Kafka.
 */
export interface EventClass<T extends object = object> {
  new (): T;
  readonly contract: EventContract<T>;
}

export interface EventExamples<T> {
  /** A payload every consumer must accept. */
  readonly valid: T;
  /** A payload validation must reject; tests check both. */
  readonly invalid: Record<string, unknown>;
}

export interface EventSpec<T extends object> {
  /** `<owning domain>.<kebab-case name>`, e.g. `users.user-created`. */
  readonly type: string;
  /** Major version. A new shape is a new version, and with it a new topic. */
  readonly version: number;
  /** Kafka message key: the aggregate id, so one aggregate's events keep their order. */
  key(payload: T): string;
  /** Part of the contract: changing it on a keyed topic breaks per-key order. */
  readonly partitions?: number;
  readonly retentionMs?: number;
  readonly description: string;
  readonly examples: EventExamples<T>;
}

export interface EventContract<T extends object = object> extends Required<EventSpec<T>> {
  /** The domain that owns and alone publishes this event. */
  readonly domain: string;
  /** Kafka topic, derived from type and version: `users.user-created.v1`. */
  readonly topic: string;
  /** CloudEvents `type` attribute: `platform.users.user-created.v1`. */
  readonly ceType: string;
  readonly payloadClass: new () => T;
}

export const DEFAULT_PARTITIONS = 6;
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const TYPE_PATTERN = /^[a-z][a-z0-9]*\.[a-z][a-z0-9-]*[a-z0-9]$/;

export function topicFor(type: string, version: number): string {
  return `${type}.v${version}`;
}

export function defineEvent<T extends object>(payloadClass: new () => T, spec: EventSpec<T>): EventContract<T> {
  if (!TYPE_PATTERN.test(spec.type)) {
    throw new Error(`Event type "${spec.type}" must look like "<domain>.<kebab-name>", e.g. "users.user-created"`);
  }
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new Error(`Event type "${spec.type}": version must be a positive integer, got ${spec.version}`);
  }
  const partitions = spec.partitions ?? DEFAULT_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`Event type "${spec.type}": partitions must be a positive integer, got ${partitions}`);
  }
  const topic = topicFor(spec.type, spec.version);
  return Object.freeze({
    ...spec,
    partitions,
    retentionMs: spec.retentionMs ?? DEFAULT_RETENTION_MS,
    domain: spec.type.split('.')[0],
    topic,
    ceType: `platform.${topic}`,
    payloadClass,
  });
}

/** The payload type of an event class: `PayloadOf<typeof UserCreated>` is `UserCreated`. */
export type PayloadOf<C extends EventClass> = InstanceType<C>;
