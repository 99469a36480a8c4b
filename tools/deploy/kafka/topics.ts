import { EVENT_REGISTRY, type EventClass } from '@platform/contracts';
import { topicSpecFor, useCaseTopicSpecs, type KafkaNaming, type TopicSpec } from '@platform/messaging';
import type { ServiceModel } from '../catalog/load-services';

/**
 * The topics a service owns and therefore deploys with itself: one per event type it
 * publishes (an event's domain alone publishes it) and each use case's dead-letter and
 * redrive topics. Specs come from the same functions the services use to create topics, so
 * partitions and retention cannot drift from the contracts.
 */
export function ownedTopics(service: ServiceModel, naming: KafkaNaming): TopicSpec[] {
  return [
    ...service.publishes.map((event) => topicSpecFor(event, naming)),
    ...service.useCases.flatMap((useCase) => useCaseTopicSpecs(naming, service.name, useCase.name)),
  ];
}

/**
 * Every registered event must be published by exactly one service of its own domain: otherwise
 * its topic would be deployed twice, or never, and its consumers would wait for it forever.
 */
export function assertEachEventHasOnePublisher(services: readonly ServiceModel[], registry: readonly EventClass[] = EVENT_REGISTRY): void {
  const problems: string[] = [];
  for (const event of registry) {
    const publishers = services.filter((s) => s.publishes.includes(event)).map((s) => s.name);
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
