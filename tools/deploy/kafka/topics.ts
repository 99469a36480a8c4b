import { EVENT_REGISTRY, ReadableEvents, type EventClass } from '@platform/contracts';
import { topicSpecFor, useCaseTopicSpecs, type KafkaNaming, type TopicSpec } from '@platform/messaging';
import type { ServiceModel } from '../catalog/load-services';

/**
 * The topics a service owns and therefore deploys with itself: one per event type it
 * publishes (an event's domain alone publishes it), one per command type it handles (a
 * command's domain alone handles it; others send it) and each use case's dead-letter and
 * redrive topics. Specs come from the same functions the services use to create topics, so
 * partitions and retention cannot drift from the contracts.
 */
export function ownedTopics(service: ServiceModel, naming: KafkaNaming): TopicSpec[] {
  const handled = new Set(service.useCases.flatMap(readVersions).filter((e) => e.contract.kind === 'command' && e.contract.domain === service.name));
  return [
    ...service.publishes.filter((event) => event.contract.kind !== 'command').map((event) => topicSpecFor(event, naming)),
    ...[...handled].map((command) => topicSpecFor(command, naming)),
    ...service.useCases.flatMap((useCase) => useCaseTopicSpecs(naming, service.name, useCase.name)),
  ];
}

/** The versions a use case reads: those it declares and the older ones it receives upcast (a handler of command v2 handles v1 too). */
function readVersions(useCase: ServiceModel['useCases'][number]): readonly EventClass[] {
  return new ReadableEvents(useCase.events).all;
}

/**
 * Every registered event must be published by exactly one service of its own domain, and every
 * command handled by exactly one service of its own domain and sent by some service: otherwise
 * its topic would be deployed twice, or never, and its consumers would wait for it forever.
 */
export function assertEachEventHasOnePublisher(services: readonly ServiceModel[], registry: readonly EventClass[] = EVENT_REGISTRY): void {
  const problems: string[] = [];
  for (const event of registry) {
    const publishers = services.filter((s) => s.publishes.includes(event)).map((s) => s.name);
    if (event.contract.kind === 'command') {
      const handlers = services.filter((s) => s.useCases.some((u) => readVersions(u).includes(event))).map((s) => s.name);
      if (handlers.length !== 1) problems.push(`command ${event.contract.type} is handled by ${handlers.length ? handlers.join(' and ') : 'no service'}`);
      else if (handlers[0] !== event.contract.domain) problems.push(`command ${event.contract.type} belongs to ${event.contract.domain} but ${handlers[0]} handles it`);
      if (publishers.length === 0) problems.push(`command ${event.contract.type} is sent by no service`);
      continue;
    }
    if (publishers.length !== 1) problems.push(`${event.contract.type} is published by ${publishers.length ? publishers.join(' and ') : 'no service'}`);
    else if (publishers[0] !== event.contract.domain) problems.push(`${event.contract.type} belongs to ${event.contract.domain} but ${publishers[0]} publishes it`);
  }
  for (const service of services) {
    for (const event of [...service.publishes, ...service.useCases.flatMap((u) => u.events)]) {
      if (!registry.includes(event)) problems.push(`${service.name} uses ${event.contract.type}, which is not in EVENT_REGISTRY`);
    }
  }
  if (problems.length > 0) throw new Error(`Cannot derive the Kafka topics:\n  - ${problems.join('\n  - ')}`);
}
