import type { KafkaNaming } from '@platform/messaging';
import type { ServiceModel } from '../catalog/load-services';

export type AclOperation = 'Read' | 'Write' | 'Describe';

/** One Strimzi `simple` authorization rule (KafkaUser `spec.authorization.acls[]`). */
export interface KafkaAcl {
  readonly type: 'allow';
  readonly resource: { readonly type: 'topic' | 'group'; readonly name: string; readonly patternType: 'literal' | 'prefix' };
  readonly operations: readonly AclOperation[];
}

/** Where a service's consumer groups live: `<namespace.><service>.`, every group it joins starts so. */
export function groupPrefix(naming: KafkaNaming, service: string): string {
  return `${naming.namespace ? `${naming.namespace}.` : ''}${service}.`;
}

/**
 * Least privilege, read off the code: write (and describe) only the topics of the events the
 * service publishes and its own dead-letter topics; read (and describe) only the topics its use
 * cases subscribe to and its own redrive topics; join only consumer groups under its own prefix
 * (its use cases' groups and redrive cursors). No Create: topics come from the KafkaTopic
 * resources, and a service that starts before them retries until they exist.
 */
export function serviceAcls(service: ServiceModel, naming: KafkaNaming): KafkaAcl[] {
  const byTopic = new Map<string, Set<AclOperation>>();
  const allow = (topic: string, ...operations: AclOperation[]) => {
    const set = byTopic.get(topic) ?? new Set<AclOperation>();
    operations.forEach((op) => set.add(op));
    byTopic.set(topic, set);
  };
  for (const event of service.publishes) allow(naming.topic(event), 'Write', 'Describe');
  for (const useCase of service.useCases) {
    for (const event of useCase.events) allow(naming.topic(event), 'Read', 'Describe');
    allow(naming.deadLetterTopic(service.name, useCase.name), 'Write', 'Describe');
    allow(naming.redriveTopic(service.name, useCase.name), 'Read', 'Describe');
  }
  const order: AclOperation[] = ['Read', 'Write', 'Describe'];
  const topicAcls: KafkaAcl[] = [...byTopic]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ops]) => ({ type: 'allow', resource: { type: 'topic', name, patternType: 'literal' }, operations: order.filter((op) => ops.has(op)) }));
  const groupAcls: KafkaAcl[] =
    service.useCases.length === 0 ? [] : [{ type: 'allow', resource: { type: 'group', name: groupPrefix(naming, service.name), patternType: 'prefix' }, operations: ['Read'] }];
  return [...topicAcls, ...groupAcls];
}
