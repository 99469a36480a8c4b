import { schemaNarrowings } from './schema-narrowings';
import type { EventSurface } from './event-surface';

/** A change a consumer of the event would break on, named by event (type and version) and field. */
export interface BreakingChange {
  /** `users.user-created v1` */
  readonly event: string;
  /** The payload field, or `headers.<name>`; empty for the event as a whole (removed, its key, its partitions). */
  readonly field: string;
  readonly change: string;
}

export interface CompatReport {
  readonly breaking: readonly BreakingChange[];
  /** Events compared in both documents, new ones, and versions retired while a newer one exists. */
  readonly compared: number;
  readonly added: readonly string[];
  readonly retired: readonly string[];
}

const nameOf = (event: EventSurface): string => `${event.type} v${event.version}`;

/**
 * Whether every consumer of `before` still works with `after`, within an event's version:
 * the payload and headers accept every value they accepted (no field removed or renamed, no
 * type or bound narrowed, no new required field), and the key and partition count are the
 * same, since either moves a key to another partition and breaks its order. A new event or a
 * new version is compatible; so is retiring a version while a newer one of its type remains.
 */
export function breakingChanges(before: readonly EventSurface[], after: readonly EventSurface[]): CompatReport {
  const now = new Map(after.map((event) => [nameOf(event), event]));
  const was = new Set(before.map(nameOf));
  const breaking: BreakingChange[] = [];
  const retired: string[] = [];
  let compared = 0;
  for (const old of before) {
    const event = nameOf(old);
    const current = now.get(event);
    if (!current) {
      const newer = after.filter((e) => e.type === old.type && e.version > old.version);
      if (newer.length > 0) retired.push(event);
      else breaking.push({ event, field: '', change: 'removed, and no newer version of its type exists: its consumers would wait forever' });
      continue;
    }
    compared += 1;
    if (current.key.join('+') !== old.key.join('+')) {
      const key = (fields: readonly string[]) => fields.map((f) => `payload.${f}`).join(' + ');
      breaking.push({ event, field: '', change: `Kafka key ${key(old.key)} → ${key(current.key)}: events of one aggregate would land on other partitions, out of order` });
    }
    if (current.partitions !== old.partitions) {
      breaking.push({ event, field: '', change: `partitions ${old.partitions} → ${current.partitions}: keys would move to other partitions, out of order` });
    }
    breaking.push(...schemaNarrowings(old.payload, current.payload).map(({ field, change }) => ({ event, field, change })));
    breaking.push(...schemaNarrowings(old.headers, current.headers, 'headers').map(({ field, change }) => ({ event, field, change })));
  }
  return { breaking, compared, added: after.map(nameOf).filter((name) => !was.has(name)), retired };
}

/** One line per breaking change, naming the event and the field. */
export function describeBreakingChange({ event, field, change }: BreakingChange): string {
  return field ? `${event}, field ${field}: ${change}` : `${event}: ${change}`;
}
