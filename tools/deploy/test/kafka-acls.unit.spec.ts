/// <reference types="jest" />
import { KafkaNaming } from '@platform/messaging';
import { loadServices, type ServiceModel } from '../catalog/load-services';
import { serviceAcls } from '../kafka/acls';
import { SETTINGS } from '../settings';
import { readDocuments, single } from './manifests';
import { MemberJoinedV1, MemberJoinedV2, VERSIONED_SERVICES } from './versioned-events';

interface Acl {
  type: string;
  resource: { type: string; name: string; patternType: string };
  operations: string[];
  host?: string;
}

const aclsOf = (service: string): Acl[] => {
  const user = single(readDocuments(`k8s/generated/${service}/kafka-user.yaml`), 'KafkaUser');
  return (user.spec as { authorization: { acls: Acl[] } }).authorization.acls;
};

/** Topics on which the committed KafkaUser of `service` allows `operation`. */
const topicsAllowing = (acls: readonly { resource: Acl['resource']; operations: readonly string[] }[], operation: string) =>
  acls
    .filter((a) => a.resource.type === 'topic' && a.operations.includes(operation))
    .map((a) => a.resource.name)
    .sort();

/**
 * The expectations are computed here from the declarations and KafkaNaming, independently of
 * the generator's ACL code, and compared with the committed KafkaUser resources.
 */
describe('KafkaUser ACLs follow the code', () => {
  const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);
  let services: ServiceModel[];

  beforeAll(async () => {
    services = await loadServices();
  });

  const published = (s: ServiceModel) => s.publishes.map((e) => naming.topic(e));
  // What each use case's consumer subscribes to: its declared versions and the older ones it receives upcast.
  const consumed = (s: ServiceModel) => [...new Set(s.useCases.flatMap((u) => naming.useCase(s.name, u).topics))];
  const deadLetters = (s: ServiceModel) => s.useCases.map((u) => naming.deadLetterTopic(s.name, u.name));
  const redrives = (s: ServiceModel) => s.useCases.map((u) => naming.redriveTopic(s.name, u.name));

  it('writes only the topics of the events it publishes and its own dead-letter topics', () => {
    for (const s of services) expect(topicsAllowing(aclsOf(s.name), 'Write')).toEqual([...published(s), ...deadLetters(s)].sort());
  });

  it('reads only the topics its use cases declare and its own redrive topics', () => {
    for (const s of services) expect(topicsAllowing(aclsOf(s.name), 'Read')).toEqual([...consumed(s), ...redrives(s)].sort());
  });

  it('lets a use case that declares v2 read the v1 topic too, which it receives upcast', () => {
    const [, greetings] = VERSIONED_SERVICES;
    expect(topicsAllowing(serviceAcls(greetings, naming), 'Read')).toEqual(
      [naming.topic(MemberJoinedV1), naming.topic(MemberJoinedV2), naming.redriveTopic('greetings', 'welcome')].sort(),
    );
  });

  it('describes exactly the topics it reads or writes', () => {
    for (const s of services) {
      const acls = aclsOf(s.name);
      expect(topicsAllowing(acls, 'Describe')).toEqual([...new Set([...topicsAllowing(acls, 'Read'), ...topicsAllowing(acls, 'Write')])].sort());
    }
  });

  it('joins consumer groups only under its own prefix, and only if it has use cases', () => {
    for (const s of services) {
      const groups = aclsOf(s.name).filter((a) => a.resource.type === 'group');
      if (s.useCases.length === 0) {
        expect(groups).toEqual([]);
        continue;
      }
      expect(groups).toEqual([{ type: 'allow', resource: { type: 'group', name: `${s.name}.`, patternType: 'prefix' }, operations: ['Read'] }]);
      // Every group the service joins falls under the prefix: its use cases' and the redrive cursors.
      for (const u of s.useCases) {
        for (const group of [naming.group(s.name, u.name), `${naming.group(s.name, u.name)}.redrive-cursor`]) expect(group.startsWith(`${s.name}.`)).toBe(true);
      }
      // ...and no other service's group does.
      for (const other of services.filter((o) => o !== s)) {
        for (const u of other.useCases) expect(naming.group(other.name, u.name).startsWith(`${s.name}.`)).toBe(false);
      }
    }
  });

  it('grants nothing else: no cluster or transactional rights, no wildcards, no deny rules, no host limits', () => {
    for (const s of services) {
      for (const acl of aclsOf(s.name)) {
        expect(acl.type).toBe('allow');
        expect(['topic', 'group']).toContain(acl.resource.type);
        expect(acl.resource.name).not.toContain('*');
        expect(acl.resource.patternType).toBe(acl.resource.type === 'group' ? 'prefix' : 'literal');
        for (const op of acl.operations) expect(['Read', 'Write', 'Describe']).toContain(op);
        expect(acl.host).toBeUndefined();
      }
    }
  });

  it('lets notifications write none of the users topics, and templates (no use cases) read nothing', () => {
    const notifications = aclsOf('notifications');
    const users = services.find((s) => s.name === 'users')!;
    for (const topic of published(users)) expect(topicsAllowing(notifications, 'Write')).not.toContain(topic);
    expect(topicsAllowing(aclsOf('templates'), 'Read')).toEqual([]);
  });

  it('is one SCRAM-SHA-512 user per service, named after it, on the platform Kafka cluster', () => {
    for (const s of services) {
      const user = single(readDocuments(`k8s/generated/${s.name}/kafka-user.yaml`), 'KafkaUser');
      expect(user.metadata.name).toBe(s.name);
      expect(user.metadata.labels?.['strimzi.io/cluster']).toBe(SETTINGS.kafka.cluster);
      expect(user.spec).toMatchObject({ authentication: { type: 'scram-sha-512' }, authorization: { type: 'simple' } });
    }
  });
});
