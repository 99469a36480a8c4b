import { assertValidEvent, instantiateEvent, ReadableEvents, UpcastChainError, type EventClass } from '@platform/contracts';
import type { ReceivedEnvelope } from '../envelope/envelope';

/**
 * The versions a use case reads: the ones it declares, and every older version of their types,
 * which reach its handler upcast to the declared one. Built when the use case starts; a chain
 * with a missing step stops the start with an error naming the use case.
 */
export function useCaseEvents(useCase: { readonly name: string; readonly events: readonly EventClass[] }, registry?: readonly EventClass[]): ReadableEvents {
  try {
    return new ReadableEvents(useCase.events, registry);
  } catch (error) {
    if (error instanceof UpcastChainError) throw new UpcastChainError(`use case ${useCase.name}: ${error.message}`);
    throw error;
  }
}

/**
 * An envelope stored after it was read (a staged window event), typed again: validated when it
 * was read, so a declared version is not checked again. One stored as an older version (by an
 * instance that still declared it, during a deploy) is validated against it and upcast.
 */
export function reviveEnvelope(events: ReadableEvents, stored: Omit<ReceivedEnvelope, 'event' | 'payload'> & { readonly payload: unknown }, holder: string): ReceivedEnvelope {
  const storedAs = events.forCeType(stored.type);
  if (!storedAs) throw new Error(`${holder} holds an event of type ${stored.type} that it does not read`);
  if (typeof stored.payload !== 'object' || stored.payload === null) throw new Error(`${holder} holds event ${stored.id} without a payload object`);
  if (events.targetOf(storedAs) === storedAs) return { ...stored, payload: instantiateEvent(storedAs, stored.payload), event: storedAs };
  const { event, payload } = events.upcast(storedAs, assertValidEvent(storedAs, stored.payload));
  return { ...stored, type: event.contract.ceType, payload, event, upcastFrom: { type: storedAs.contract.ceType, version: storedAs.contract.version } };
}
