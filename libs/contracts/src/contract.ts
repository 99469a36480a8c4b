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

/**
 * How a version is made from the previous one, declared with the newer version: readers that
 * declare the newer version receive the older one upcast, so a producer and its consumers move
 * to a new shape one at a time. Steps chain: v3 upcasts from v2, which upcasts from v1.
 */
export interface UpcastStep<Older extends object, T extends object> {
  /** The previous version of the same type (version - 1). */
  readonly event: EventClass<Older>;
  /**
   * Pure: an older payload, validated against its own version, as this version's payload; the
   * result is validated against this version before anyone sees it.
   */
  upcast(older: Older): T;
}

export interface EventSpec<T extends object, Older extends object = object> {
  /** `<owning domain>.<kebab-case name>`, e.g. `users.user-created`. */
  readonly type: string;
  /** Major version. A new shape is a new version, and with it a new topic. */
  readonly version: number;
  /** Kafka message key: the aggregate id, so one aggregate's events keep their order. */
  key(payload: T): string;
  /** Part of the contract: changing it on a keyed topic breaks per-key order. */
  readonly partitions?: number;
  readonly retentionMs?: number;
  /**
   * `event` (default): a fact, published only by its domain. `command`: a request to its
   * domain, which alone handles it; any service may send it (a saga asking another service).
   */
  readonly kind?: 'event' | 'command';
  readonly description: string;
  readonly examples: EventExamples<T>;
  /** Set on a version > 1 whose previous version may still be on the wire or in event stores. */
  readonly upcastFrom?: UpcastStep<Older, T>;
}

export interface EventContract<T extends object = object> extends Required<Omit<EventSpec<T>, 'upcastFrom'>> {
  readonly upcastFrom?: UpcastStep<object, T>;
  /** The domain that owns the type: alone publishes an event, alone handles a command. */
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

export function defineEvent<T extends object, Older extends object = object>(payloadClass: new () => T, spec: EventSpec<T, Older>): EventContract<T> {
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
  if (spec.upcastFrom) assertUpcastStep(spec);
  const topic = topicFor(spec.type, spec.version);
  return Object.freeze({
    ...spec,
    partitions,
    retentionMs: spec.retentionMs ?? DEFAULT_RETENTION_MS,
    kind: spec.kind ?? 'event',
    domain: spec.type.split('.')[0],
    topic,
    ceType: `platform.${topic}`,
    payloadClass,
  });
}

function assertUpcastStep(spec: EventSpec<object, object>): void {
  const older = spec.upcastFrom?.event?.contract;
  if (!older) throw new Error(`Event type "${spec.type}" v${spec.version}: upcastFrom.event must be an event class defined before this one`);
  if (older.type !== spec.type) throw new Error(`Event type "${spec.type}" v${spec.version}: upcastFrom names ${older.type} v${older.version}, not a version of "${spec.type}"`);
  if (older.version !== spec.version - 1) {
    throw new Error(`Event type "${spec.type}" v${spec.version} upcasts from v${older.version}: a step goes from the previous version, v${spec.version - 1}; chain the steps`);
  }
}

/** The payload type of an event class: `PayloadOf<typeof UserCreated>` is `UserCreated`. */
export type PayloadOf<C extends EventClass> = InstanceType<C>;
