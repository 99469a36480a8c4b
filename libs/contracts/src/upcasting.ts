import type { EventClass } from './contract';
import { EVENT_REGISTRY } from './registry';
import { validateEvent } from './validation';

/**
 * An upcaster threw, or returned what its version refuses: a bug in the upcaster or data it did
 * not foresee. Trying again gives the same answer, so it is never retried.
 */
export class UpcastError extends Error {
  readonly retriable = false;
  constructor(
    readonly eventType: string,
    readonly fromVersion: number,
    readonly toVersion: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot upcast ${eventType} v${fromVersion} to v${toVersion}: ${detail}`, options);
    this.name = 'UpcastError';
  }
}

/** The versions a reader declares cannot receive every registered older version: found when it starts. */
export class UpcastChainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpcastChainError';
  }
}

/** The older versions `event` is made from, newest first: its upcastFrom, that one's upcastFrom, and so on. */
export function olderVersionsOf(event: EventClass): EventClass[] {
  const older: EventClass[] = [];
  for (let step = event.contract.upcastFrom; step; step = step.event.contract.upcastFrom) older.push(step.event);
  return older;
}

/**
 * Every registered version of `target`'s type older than it must reach it through the chain
 * of upcasters; otherwise events of that version, still published or stored, would silently
 * never reach a reader of `target`. Returns the versions it reaches, newest first.
 */
function assertReachesEveryOlderVersion(target: EventClass, registry: readonly EventClass[]): EventClass[] {
  const { type, version } = target.contract;
  const chain = olderVersionsOf(target);
  for (const registered of registry) {
    if (registered.contract.type !== type || registered.contract.version >= version) continue;
    const reached = chain.find((e) => e.contract.version === registered.contract.version);
    if (reached === registered) continue;
    if (reached) throw new UpcastChainError(`${type} v${version} upcasts from a v${registered.contract.version} class that is not the registered one (${registered.name})`);
    const oldest = chain[chain.length - 1] ?? target;
    throw new UpcastChainError(
      `${type} v${registered.contract.version} is registered but cannot be upcast to v${version}: v${oldest.contract.version} (${oldest.name}) declares no upcastFrom. ` +
        `Add upcastFrom: { event: <the v${oldest.contract.version - 1} class>, upcast } to it, or retire v${registered.contract.version}.`,
    );
  }
  return chain;
}

/**
 * What a reader (a use case, an event store's reader) reads: the versions it declares, and every
 * older version of their types, which it receives upcast to the declared one. Built once when the
 * reader starts; a chain with a missing step is refused there (UpcastChainError).
 */
export class ReadableEvents {
  /** Every version read: the declared ones first, then the older ones. */
  readonly all: readonly EventClass[];
  private readonly targets = new Map<EventClass, EventClass>();
  private readonly byTopic = new Map<string, EventClass>();
  private readonly byCeType = new Map<string, EventClass>();

  /**
   * @param declared the versions the reader's code understands, at most one per type
   * @param registry the versions that may be on the wire or stored (default EVENT_REGISTRY): each
   *   registered version older than a declared one must reach it
   */
  constructor(
    readonly declared: readonly EventClass[],
    registry: readonly EventClass[] = EVENT_REGISTRY,
  ) {
    const byType = new Map<string, EventClass>();
    for (const target of declared) {
      const { type, version } = target.contract;
      const other = byType.get(type);
      if (other && other !== target) {
        throw new UpcastChainError(`${type} is declared twice, v${other.contract.version} and v${version}: declare the one version the code understands; older ones arrive upcast to it`);
      }
      byType.set(type, target);
      this.targets.set(target, target);
    }
    for (const target of byType.values()) {
      for (const older of assertReachesEveryOlderVersion(target, registry)) this.targets.set(older, target);
    }
    this.all = [...this.targets.keys()];
    for (const event of this.all) {
      this.byTopic.set(event.contract.topic, event);
      this.byCeType.set(event.contract.ceType, event);
    }
  }

  /** The version read from a contract topic (no namespace), declared or older. */
  forTopic(topic: string): EventClass | undefined {
    return this.byTopic.get(topic);
  }

  /** The version of a CloudEvents type (or an event store's stored type), declared or older. */
  forCeType(ceType: string): EventClass | undefined {
    return this.byCeType.get(ceType);
  }

  /** The declared version `event` is read as; undefined when it is not read at all. */
  targetOf(event: EventClass): EventClass | undefined {
    return this.targets.get(event);
  }

  /**
   * A payload of `wire`, already validated against it, as the declared version: each upcaster
   * in turn, each result validated against its version. Throws UpcastError.
   */
  upcast(wire: EventClass, payload: object): { readonly event: EventClass; readonly payload: object } {
    const target = this.targets.get(wire);
    if (!target) throw new Error(`${wire.contract.type} v${wire.contract.version} is not read here`);
    const newer: EventClass[] = [];
    for (let e = target; e !== wire; e = e.contract.upcastFrom!.event) newer.unshift(e);
    let current = payload;
    let from = wire;
    for (const next of newer) {
      const { type } = next.contract;
      let plain: unknown;
      try {
        plain = next.contract.upcastFrom!.upcast(current);
      } catch (error) {
        throw new UpcastError(type, from.contract.version, next.contract.version, `the upcaster threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
      const result = validateEvent(next, plain);
      if (!result.ok) {
        const fields = result.errors.map((e) => `${e.field} (${e.messages.join('; ')})`).join(', ');
        throw new UpcastError(type, from.contract.version, next.contract.version, `the upcaster's result is not a valid v${next.contract.version}: ${fields}`);
      }
      current = result.value;
      from = next;
    }
    return { event: target, payload: current };
  }
}
