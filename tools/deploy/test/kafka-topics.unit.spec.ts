/// <reference types="jest" />
import { EVENT_REGISTRY, RetireApis } from '@platform/contracts';
import { KafkaNaming } from '@platform/messaging';
import { loadServices, type ServiceModel } from '../catalog/load-services';
import { COMPOSE_TOPICS_SCRIPT } from '../generated-files';
import { assertEachEventHasOnePublisher, ownedTopics } from '../kafka/topics';
import { SETTINGS } from '../settings';
import { readDocuments, readRepoFile, type Resource } from './manifests';
import { SendGreetingV1, SendGreetingV2, VERSIONED_COMMANDS } from './versioned-events';

/** The committed KafkaTopic resources, by the service directory they are deployed with. */
function committedTopics(services: readonly ServiceModel[]): { service: string; topic: Resource }[] {
  return services.flatMap((s) => readDocuments(`k8s/generated/${s.name}/kafka-topics.yaml`).map((topic) => ({ service: s.name, topic })));
}

const spec = (r: Resource) => r.spec as { partitions: number; replicas: number; config: Record<string, string> };

describe('Kafka topics generated from the contracts', () => {
  const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);
  let services: ServiceModel[];
  let topics: { service: string; topic: Resource }[];

  beforeAll(async () => {
    services = await loadServices();
    topics = committedTopics(services);
  });

  it('has one KafkaTopic per event type, deployed with its publisher, with the contract partitions and retention', () => {
    for (const event of EVENT_REGISTRY) {
      const matches = topics.filter((t) => t.topic.metadata.name === event.contract.topic);
      expect(matches.map((m) => m.service)).toEqual([event.contract.domain]);
      expect(spec(matches[0].topic).partitions).toBe(event.contract.partitions);
      expect(Number(spec(matches[0].topic).config['retention.ms'])).toBe(event.contract.retentionMs);
    }
  });

  it("has each use case's dead-letter and redrive topic, one partition each, deployed with its service", () => {
    for (const service of services) {
      for (const useCase of service.useCases) {
        for (const name of [naming.deadLetterTopic(service.name, useCase.name), naming.redriveTopic(service.name, useCase.name)]) {
          const matches = topics.filter((t) => t.topic.metadata.name === name);
          expect(matches.map((m) => m.service)).toEqual([service.name]);
          expect(spec(matches[0].topic).partitions).toBe(1);
        }
      }
    }
  });

  it('has no other topics', () => {
    const expected = new Set([
      ...EVENT_REGISTRY.map((e) => e.contract.topic),
      ...services.flatMap((s) => s.useCases.flatMap((u) => [naming.deadLetterTopic(s.name, u.name), naming.redriveTopic(s.name, u.name)])),
    ]);
    expect(topics.map((t) => t.topic.metadata.name).sort()).toEqual([...expected].sort());
  });

  it('gives the compose stack the same topics, partitions and retention', () => {
    const created = readRepoFile(COMPOSE_TOPICS_SCRIPT)
      .split('\n')
      .filter((line) => line.startsWith('create_topic '))
      .map((line) => {
        const [, name, partitions] = line.split(' ');
        return { name, partitions: Number(partitions), retention: /retention\.ms=(\d+)/.exec(line)?.[1] };
      });
    const fromManifests = topics.map(({ topic }) => ({ name: topic.metadata.name, partitions: spec(topic).partitions, retention: spec(topic).config['retention.ms'] }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(created.sort(byName)).toEqual(fromManifests.sort(byName));
  });

  describe('refuses to generate topics when ownership is unclear', () => {
    const [first, second] = EVENT_REGISTRY;
    const service = (name: string, publishes: ServiceModel['publishes']): ServiceModel => ({ name, port: 1, publishes, useCases: [] });

    it('an event published by two services', () => {
      const owner = first.contract.domain;
      expect(() => assertEachEventHasOnePublisher([service(owner, [first]), service('other', [first])], [first])).toThrow(/published by .* and other/);
    });

    it('an event published by no service', () => {
      expect(() => assertEachEventHasOnePublisher([service(first.contract.domain, [first])], [first, second])).toThrow(/published by no service/);
    });

    it("an event published outside its domain", () => {
      expect(() => assertEachEventHasOnePublisher([service('intruder', [first])], [first])).toThrow(/belongs to .* but intruder publishes it/);
    });

    describe('a command (sent by any service, handled by its own domain)', () => {
      const command = RetireApis;
      const handler = (name: string): ServiceModel => ({ name, port: 1, publishes: [], useCases: [{ name: 'retire', events: [command] }] as unknown as ServiceModel['useCases'] });
      const sender = service('users', [command]);

      it('is deployed with the service that handles it, not with the one that sends it', () => {
        expect(() => assertEachEventHasOnePublisher([sender, handler('endpoints')], [command])).not.toThrow();
        const own = (model: ServiceModel) => ownedTopics(model, naming).map((t) => t.topic);
        expect(own(handler('endpoints'))).toContain(naming.topic(command));
        expect(own(sender)).not.toContain(naming.topic(command));
      });

      it('in two versions: the service that handles v2 handles v1 too (upcast), and deploys both topics', () => {
        const greetings: ServiceModel = { name: 'greetings', port: 1, publishes: [], useCases: [{ name: 'greet', kind: 'events', events: [SendGreetingV2] }] };
        const members = service('members', [SendGreetingV1, SendGreetingV2]);
        expect(() => assertEachEventHasOnePublisher([members, greetings], VERSIONED_COMMANDS)).not.toThrow();
        expect(ownedTopics(greetings, naming).map((t) => t.topic)).toEqual(expect.arrayContaining([naming.topic(SendGreetingV1), naming.topic(SendGreetingV2)]));
      });

      it('handled by two services, by one outside its domain, or sent by none', () => {
        expect(() => assertEachEventHasOnePublisher([sender, handler('endpoints'), handler('other')], [command])).toThrow(/handled by endpoints and other/);
        expect(() => assertEachEventHasOnePublisher([sender, handler('other')], [command])).toThrow(/belongs to endpoints but other handles it/);
        expect(() => assertEachEventHasOnePublisher([handler('endpoints')], [command])).toThrow(/sent by no service/);
      });
    });
  });
});
