import { EVENT_REGISTRY, ReadableEvents, type EventClass } from '@platform/contracts';
import { CE, KafkaNaming, topicSpecFor, useCaseTopicSpecs, type TopicSpec } from '@platform/messaging';
import type { ServiceModel } from '../deploy/catalog/load-services';
import { assertEachEventHasOnePublisher } from '../deploy/kafka/topics';
import { kafkaBootstrap, SETTINGS } from '../deploy/settings';
import { cloudEventHeaders, deadLetterHeaders } from './headers-schema';
import type { JsonSchema } from './json-schema';
import { keyFields } from './message-key';
import { payloadSchema } from './payload-schema';

/** The committed document; `npx nx run contracts:generate-asyncapi` writes it. */
export const ASYNCAPI_FILE = 'libs/contracts/asyncapi.yaml';
const KAFKA_BINDING = { bindingVersion: '0.5.0' } as const;
const DEAD_LETTER_MESSAGE = 'dead-letter';

type Ref = { readonly $ref: string };
type Doc = Record<string, unknown>;
const ref = (...path: string[]): Ref => ({ $ref: `#/${path.join('/')}` });
const messageId = (event: EventClass): string => event.contract.topic;
const constString = (value: string): JsonSchema => ({ type: 'string', const: value });

function topicBinding(spec: TopicSpec): Doc {
  return {
    kafka: {
      topic: spec.topic,
      partitions: spec.partitions,
      topicConfiguration: { 'retention.ms': Number(spec.config['retention.ms']), 'cleanup.policy': [spec.config['cleanup.policy']] },
      ...KAFKA_BINDING,
    },
  };
}

/** One event type and version: its payload, headers, key and a valid example. */
function eventMessage(event: EventClass, publishers: readonly string[]): Doc {
  const { contract } = event;
  const payload = payloadSchema(event);
  const key = keyFields(event);
  const keySchema = key.length === 1 ? payload.properties?.[key[0]] : undefined;
  return {
    name: event.name,
    title: `${event.name} v${contract.version}`,
    summary: contract.description,
    contentType: 'application/json',
    correlationId: ref('components', 'correlationIds', 'correlation-id'),
    headers: cloudEventHeaders(event, publishers),
    payload,
    bindings: {
      kafka: { key: { ...(keySchema ?? { type: 'string' }), description: `The aggregate id: ${key.map((f) => `payload.${f}`).join(' + ')}` }, ...KAFKA_BINDING },
    },
    examples: [{ name: 'valid', summary: 'A payload every consumer accepts.', payload: contract.examples.valid }],
    'x-platform-event': { type: contract.type, version: contract.version },
    'x-platform-key': key,
  };
}

function deadLetterMessage(): Doc {
  return {
    name: 'DeadLetter',
    title: 'Dead letter',
    summary: "An event a use case gave up on, or a redriven one: the original key, bytes and headers plus the reason. Read by that use case alone, from its redrive topic.",
    headers: deadLetterHeaders(),
    payload: { description: 'The original message value, byte for byte (JSON for a valid event, anything for an invalid payload).' },
  };
}

interface Channel {
  readonly id: string;
  readonly body: Doc;
}

function eventChannel(event: EventClass, spec: TopicSpec): Channel {
  return {
    id: spec.topic,
    body: {
      address: spec.topic,
      title: event.contract.topic,
      description: event.contract.description,
      messages: { [messageId(event)]: ref('components', 'messages', messageId(event)) },
      bindings: topicBinding(spec),
    },
  };
}

function useCaseChannel(spec: TopicSpec, description: string): Channel {
  return {
    id: spec.topic,
    body: { address: spec.topic, description, messages: { [DEAD_LETTER_MESSAGE]: ref('components', 'messages', DEAD_LETTER_MESSAGE) }, bindings: topicBinding(spec) },
  };
}

function operation(action: 'send' | 'receive', channel: string, messages: readonly string[], kafka: Doc, extensions: Doc, summary: string): Doc {
  return {
    action,
    channel: ref('channels', channel),
    summary,
    messages: messages.map((message) => ref('channels', channel, 'messages', message)),
    bindings: { kafka: { ...kafka, ...KAFKA_BINDING } },
    ...extensions,
  };
}

/** A service's operations: what it publishes (through its outbox), and per use case what its group reads and where its dead letters go. */
function serviceOperations(service: ServiceModel, naming: KafkaNaming, registry: readonly EventClass[]): [string, Doc][] {
  const clientId = { clientId: constString(service.name) };
  const sends = service.publishes.map((event): [string, Doc] => [
    `${service.name}.send.${event.contract.topic}`,
    operation('send', naming.topic(event), [messageId(event)], clientId, { 'x-platform-service': service.name }, `${service.name} publishes ${event.name} v${event.contract.version} through its transactional outbox.`),
  ]);
  const useCases = service.useCases.flatMap((useCase) => {
    const names = naming.useCase(service.name, useCase);
    const kafka = { groupId: constString(names.groupId), ...clientId };
    const extensions = { 'x-platform-service': service.name, 'x-platform-use-case': useCase.name };
    // The declared versions, then the older ones it reads too and receives upcast to them.
    const readable = new ReadableEvents(useCase.events, registry);
    const receives = readable.all.map((event): [string, Doc] => {
      const target = readable.targetOf(event);
      const upcast = target && target !== event ? `, upcast to v${target.contract.version}` : '';
      return [
        `${names.groupId}.receive.${event.contract.topic}`,
        operation('receive', naming.topic(event), [messageId(event)], kafka, extensions, `Use case ${useCase.name} (group ${names.groupId}) handles ${event.name} v${event.contract.version}${upcast}.`),
      ];
    });
    return [
      ...receives,
      [`${names.groupId}.send.dead-letters`, operation('send', names.deadLetterTopic, [DEAD_LETTER_MESSAGE], clientId, extensions, `Events use case ${useCase.name} gave up on.`)],
      [`${names.groupId}.receive.redrive`, operation('receive', names.redriveTopic, [DEAD_LETTER_MESSAGE], kafka, extensions, `Dead letters of ${useCase.name} put back by npm run redrive.`)],
    ] as [string, Doc][];
  });
  return [...sends, ...useCases];
}

/**
 * The platform's AsyncAPI 3.0 document, computed from the contracts (channels, messages) and
 * the service declarations (operations, consumer groups). Pure: the generator writes it, the
 * tests compare it with the committed file, the compatibility check compares two of them.
 */
export function asyncApiDocument(services: readonly ServiceModel[], registry: readonly EventClass[] = EVENT_REGISTRY): Doc {
  assertEachEventHasOnePublisher(services, registry);
  const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);
  const publishers = (event: EventClass) => services.filter((s) => s.publishes.includes(event)).map((s) => s.name);
  const eventChannels = registry.map((event) => eventChannel(event, topicSpecFor(event, naming)));
  const ownChannels = services.flatMap((service) =>
    service.useCases.flatMap((useCase) => {
      const [deadLetters, redrive] = useCaseTopicSpecs(naming, service.name, useCase.name);
      return [
        useCaseChannel(deadLetters, `Dead letters of ${service.name}'s use case ${useCase.name}.`),
        useCaseChannel(redrive, `Dead letters of ${service.name}'s use case ${useCase.name} put back for it to handle again.`),
      ];
    }),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Platform events',
      version: '1.0.0',
      description:
        'Every event the platform services exchange over Kafka: one topic per event type and major version, CloudEvents headers (Kafka binding, binary mode), JSON payloads validated on publish and on consume. ' +
        `Generated from libs/contracts and each app's service declaration by \`npx nx run contracts:generate-asyncapi\`; do not edit.`,
    },
    defaultContentType: 'application/json',
    servers: {
      development: { host: '127.0.0.1:9092', protocol: 'kafka', description: "npm start's broker (tools/kafka), the services' KAFKA_BROKERS default." },
      kubernetes: {
        host: kafkaBootstrap(),
        protocol: 'kafka',
        description: "The Strimzi cluster's SCRAM listener; each service's KafkaUser allows only its own operations below.",
        security: [ref('components', 'securitySchemes', 'scram')],
      },
    },
    channels: Object.fromEntries([...eventChannels, ...ownChannels].map((channel) => [channel.id, channel.body])),
    operations: Object.fromEntries(services.flatMap((service) => serviceOperations(service, naming, registry))),
    components: {
      messages: {
        ...Object.fromEntries(registry.map((event) => [messageId(event), eventMessage(event, publishers(event))])),
        [DEAD_LETTER_MESSAGE]: deadLetterMessage(),
      },
      correlationIds: {
        'correlation-id': { description: "The conversation an event belongs to: a request's X-Correlation-Id, carried by every event it causes.", location: `$message.header#/${CE.correlationId}` },
      },
      securitySchemes: { scram: { type: 'scramSha512', description: 'SASL SCRAM-SHA-512, one KafkaUser per service.' } },
    },
  };
}
