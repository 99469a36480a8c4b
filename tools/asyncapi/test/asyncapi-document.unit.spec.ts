/// <reference types="jest" />
import { Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { EVENT_REGISTRY, ReadableEvents } from '@platform/contracts';
import { CE, KafkaNaming } from '@platform/messaging';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadServices, type ServiceModel } from '../../deploy/catalog/load-services';
import { REPO_ROOT } from '../../deploy/paths';
import { SETTINGS } from '../../deploy/settings';
import { MemberJoinedV1, MemberJoinedV2, VERSIONED_REGISTRY, VERSIONED_SERVICES } from '../../deploy/test/versioned-events';
import { ASYNCAPI_FILE, asyncApiDocument } from '../document';
import { keyFields } from '../message-key';
import { renderAsyncApi } from '../render';

/** Below errors: what the parser's rules advise; listed here so a new one is seen, not buried. */
const EXPECTED_ADVICE = ['asyncapi-latest-version'];
const ERROR = 0;

describe(`${ASYNCAPI_FILE}`, () => {
  let services: ServiceModel[];
  let generated: string;
  let document: AsyncAPIDocumentInterface;
  let diagnostics: Diagnostic[];
  const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);

  beforeAll(async () => {
    services = await loadServices();
    generated = renderAsyncApi(asyncApiDocument(services));
    const parsed = await new Parser().parse(readFileSync(path.join(REPO_ROOT, ASYNCAPI_FILE), 'utf8'));
    diagnostics = parsed.diagnostics;
    if (!parsed.document) throw new Error(`the parser refused the document: ${diagnostics.map((d) => `${d.code} ${d.message} at ${d.path.join('/')}`).join('; ')}`);
    document = parsed.document;
  });

  it('equals what the contracts and service declarations produce now (regenerate: npx nx run contracts:generate-asyncapi)', () => {
    expect(readFileSync(path.join(REPO_ROOT, ASYNCAPI_FILE), 'utf8')).toBe(generated);
  });

  it('is a valid AsyncAPI 3.0 document for @asyncapi/parser: no errors, and only the advice listed here', () => {
    const describe = (d: Diagnostic) => `${d.code}: ${d.message} (${d.path.join('/') || 'root'})`;
    expect(diagnostics.filter((d) => d.severity === ERROR).map(describe)).toEqual([]);
    expect(diagnostics.filter((d) => d.severity !== ERROR).map((d) => d.code)).toEqual(EXPECTED_ADVICE);
    expect(document.version()).toBe('3.0.0');
  });

  it('has one channel per event topic with the contract\'s partitions and retention, and a message keyed as the contract keys it', () => {
    for (const event of EVENT_REGISTRY) {
      const channel = document.channels().get(naming.topic(event));
      expect(channel?.address()).toBe(naming.topic(event));
      expect(channel?.bindings().get('kafka')?.value()).toMatchObject({ partitions: event.contract.partitions, topicConfiguration: { 'retention.ms': event.contract.retentionMs } });
      const message = channel?.messages().get(event.contract.topic);
      expect(message?.extensions().get('x-platform-event')?.value()).toEqual({ type: event.contract.type, version: event.contract.version });
      expect(message?.extensions().get('x-platform-key')?.value()).toEqual(keyFields(event));
      expect(message?.bindings().get('kafka')?.value()['key']).toMatchObject({ type: 'string' });
      expect(Object.keys(message?.payload()?.properties() ?? {})).toEqual(expect.arrayContaining(Object.keys(event.contract.examples.valid)));
    }
  });

  it('declares the CloudEvents headers the envelope writes, with the type and source of each event', () => {
    for (const event of EVENT_REGISTRY) {
      const headers = document.messages().get(event.contract.topic)?.headers();
      expect(Object.keys(headers?.properties() ?? {}).sort()).toEqual(Object.values(CE).sort());
      expect(headers?.required()).toEqual(expect.arrayContaining([CE.id, CE.type, CE.source, CE.time, CE.specversion, CE.correlationId]));
      expect(headers?.properties()?.[CE.type]?.const()).toBe(event.contract.ceType);
      const sources = services.filter((s) => s.publishes.includes(event)).map((s) => `/services/${s.name}`);
      const source = headers?.properties()?.[CE.source];
      expect(source?.const() !== undefined ? [source.const()] : source?.enum()).toEqual(sources);
    }
  });

  it("has each service's send operations and, per use case, its receive operations with its consumer group", () => {
    const sends = document.operations().filterBySend();
    const receives = document.operations().filterByReceive();
    for (const service of services) {
      for (const event of service.publishes) {
        const matching = sends.filter((op) => op.channels().all()[0]?.address() === naming.topic(event));
        expect(matching.map((op) => op.bindings().get('kafka')?.value()['clientId'])).toEqual([{ type: 'string', const: service.name }]);
      }
      for (const useCase of service.useCases) {
        const group = naming.group(service.name, useCase.name);
        const ofGroup = receives.filter((op) => op.bindings().get('kafka')?.value()['groupId']?.const === group);
        const read = ofGroup.map((op) => op.channels().all()[0]?.address());
        expect(read.sort()).toEqual([...new ReadableEvents(useCase.events).all.map((e) => naming.topic(e)), naming.redriveTopic(service.name, useCase.name)].sort());
        const deadLetters = sends.filter((op) => op.channels().all()[0]?.address() === naming.deadLetterTopic(service.name, useCase.name));
        expect(deadLetters).toHaveLength(1);
      }
    }
    const useCases = services.flatMap((s) => s.useCases);
    expect(sends).toHaveLength(services.flatMap((s) => s.publishes).length + useCases.length);
    expect(receives).toHaveLength(useCases.flatMap((u) => new ReadableEvents(u.events).all).length + useCases.length);
  });

  it('gives a use case that declares v2 a receive operation on the v1 channel too, saying it is upcast', () => {
    const operations = asyncApiDocument(VERSIONED_SERVICES, VERSIONED_REGISTRY).operations as Record<string, { action: string; channel: { $ref: string }; summary: string }>;
    const group = naming.group('greetings', 'welcome');
    const receives = Object.entries(operations).filter(([id, op]) => id.startsWith(`${group}.receive.`) && op.channel.$ref !== `#/channels/${naming.redriveTopic('greetings', 'welcome')}`);
    expect(receives.map(([, op]) => [op.channel.$ref, op.summary])).toEqual([
      [`#/channels/${naming.topic(MemberJoinedV2)}`, `Use case welcome (group ${group}) handles MemberJoinedV2 v2.`],
      [`#/channels/${naming.topic(MemberJoinedV1)}`, `Use case welcome (group ${group}) handles MemberJoinedV1 v1, upcast to v2.`],
    ]);
  });
});
