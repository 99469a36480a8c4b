import { assertValidEvent, instantiateEvent, ReadableEvents, type EventClass } from '@platform/contracts';
import type { RecordedEvent } from '../store/event';

/**
 * How events stored as contract events read: a contract event is appended with its CloudEvents
 * type (`type: Event.contract.ceType`, `data`: its payload), and one stored as an older version
 * of a type the code reads at a newer one is read upcast to it, whenever it is read (streams,
 * the global order, subscriptions, projections and their rebuilds). Other events read as stored.
 */
export class StoredEventUpcaster {
  private readonly events: ReadableEvents;
  /** Per read type: itself and the stored types of its older versions. */
  private readonly storedTypesOf = new Map<string, readonly string[]>();

  /**
   * @param readAs the versions the code reads (one per type); older versions of them, stored
   *   before, are upcast. A registered older version they cannot reach is refused here.
   * @param registry the versions that may be stored (default EVENT_REGISTRY)
   */
  constructor(readAs: readonly EventClass[], registry?: readonly EventClass[]) {
    this.events = new ReadableEvents(readAs, registry);
    for (const target of readAs) {
      const ceTypes = this.events.all.filter((e) => this.events.targetOf(e) === target).map((e) => e.contract.ceType);
      this.storedTypesOf.set(target.contract.ceType, ceTypes);
    }
  }

  /** The stored types a read filtered to `types` asks the database for. */
  storedTypes(types: readonly string[]): string[] {
    return [...new Set(types.flatMap((type) => this.storedTypesOf.get(type) ?? [type]))];
  }

  /**
   * The event as the code reads it: of a version it reads, an instance of that version's class
   * (validated when appended: not checked again); of an older version, validated and upcast
   * (throws UpcastError); of any other type, as stored.
   */
  upcast<T>(event: RecordedEvent): RecordedEvent<T> {
    const stored = this.events.forCeType(event.type);
    if (!stored || typeof event.data !== 'object' || event.data === null) return event as RecordedEvent<T>;
    if (this.events.targetOf(stored) === stored) return { ...event, data: instantiateEvent(stored, event.data as object) as T };
    const { event: readAs, payload } = this.events.upcast(stored, assertValidEvent(stored, event.data));
    return { ...event, type: readAs.contract.ceType, data: payload as T, upcastFrom: { type: event.type, version: stored.contract.version } };
  }
}
