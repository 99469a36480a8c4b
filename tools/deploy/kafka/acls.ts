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

/** Operations by literal resource name, rendered in a stable order. */
class AclSet {
  private static readonly ORDER: readonly AclOperation[] = ['Read', 'Write', 'Describe'];
  private readonly byName = new Map<string, Set<AclOperation>>();

  allow(name: string, ...operations: AclOperation[]): void {
    const set = this.byName.get(name) ?? new Set<AclOperation>();
    operations.forEach((op) => set.add(op));
    this.byName.set(name, set);
  }

  acls(type: 'topic' | 'group'): KafkaAcl[] {
    return [...this.byName]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, ops]) => ({ type: 'allow', resource: { type, name, patternType: 'literal' }, operations: AclSet.ORDER.filter((op) => ops.has(op)) }));
  }
}

/**
 * Least privilege, read off the code: write (and describe) only the topics of the events the
 * service publishes and its own dead-letter topics; read (and describe) only the topics its use
 * cases subscribe to and its own redrive topics; join only consumer groups under its own prefix
 * (its use cases' groups and redrive cursors). No Create: topics come from the KafkaTopic
 * resources, and a service that starts before them retries until they exist.
 */
export function serviceAcls(service: ServiceModel, naming: KafkaNaming): KafkaAcl[] {
  const topics = new AclSet();
  for (const event of service.publishes) topics.allow(naming.topic(event), 'Write', 'Describe');
  for (const useCase of service.useCases) {
    // What its consumer subscribes to: the declared versions' topics and those of the older versions it receives upcast.
    for (const topic of naming.useCase(service.name, useCase).topics) topics.allow(topic, 'Read', 'Describe');
    topics.allow(naming.deadLetterTopic(service.name, useCase.name), 'Write', 'Describe');
    topics.allow(naming.redriveTopic(service.name, useCase.name), 'Read', 'Describe');
  }
  const groupAcls: KafkaAcl[] =
    service.useCases.length === 0 ? [] : [{ type: 'allow', resource: { type: 'group', name: groupPrefix(naming, service.name), patternType: 'prefix' }, operations: ['Read'] }];
  return [...topics.acls('topic'), ...groupAcls];
}

/**
 * The group `redriveDeadLetters` (libs/messaging consumer/redrive.ts) commits its cursor in: the
 * use case's group name and `.redrive-cursor`. Spelled here because the library keeps it private;
 * the console's ACLs name it literally so it never joins the use case's own group.
 */
export const redriveCursorGroup = (naming: KafkaNaming, service: string, useCase: string): string => `${naming.group(service, useCase)}.redrive-cursor`;

/**
 * The console's rights, read off what it does (apps/console/src): its admin client lists, sizes and
 * reads (a fetch without a group) every topic it shows (the events, each use case's dead-letter
 * and redrive topics) and describes each use case's group and its committed offsets (lag, the
 * request trail); a redrive writes copies to the redrive topic and, for "redrive all", moves the
 * use case's cursor group. Nothing else: no Write to an event or dead-letter topic, and only
 * Describe on the services' groups, so it can never join one and take its partitions.
 */
export function consoleAcls(services: readonly ServiceModel[], naming: KafkaNaming): KafkaAcl[] {
  const topics = new AclSet();
  const groups = new AclSet();
  for (const service of services) {
    for (const event of service.publishes) topics.allow(naming.topic(event), 'Read', 'Describe');
    for (const useCase of service.useCases) {
      for (const topic of naming.useCase(service.name, useCase).topics) topics.allow(topic, 'Read', 'Describe');
      topics.allow(naming.deadLetterTopic(service.name, useCase.name), 'Read', 'Describe');
      topics.allow(naming.redriveTopic(service.name, useCase.name), 'Read', 'Write', 'Describe');
      groups.allow(naming.group(service.name, useCase.name), 'Describe');
      groups.allow(redriveCursorGroup(naming, service.name, useCase.name), 'Read');
    }
  }
  return [...topics.acls('topic'), ...groups.acls('group')];
}
