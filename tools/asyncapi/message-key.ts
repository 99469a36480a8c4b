import type { EventClass } from '@platform/contracts';

/**
 * The payload fields an event's Kafka key is made of, found by running the contract's key
 * function on a probe that records what it reads: the key is code (`(e) => e.apiId`), and the
 * document and the compatibility check need it as data.
 */
export function keyFields(event: EventClass): string[] {
  const read = new Set<string>();
  const probe = new Proxy(
    {},
    {
      get(_target, property) {
        if (typeof property !== 'string') return undefined;
        read.add(property);
        return `{${property}}`;
      },
    },
  );
  const key = event.contract.key(probe);
  if (read.size === 0 || typeof key !== 'string') {
    throw new Error(`${event.contract.type} v${event.contract.version}: its key function reads no payload field`);
  }
  return [...read];
}
