/// <reference types="jest" />
import { consoleTopology } from '../console/topology';
import { MemberJoinedV1, MemberJoinedV2, VERSIONED_SERVICES } from './versioned-events';

describe("the console's topology", () => {
  it('lists for a use case that declares v2 the v1 topic it also reads (upcast)', () => {
    const { services } = JSON.parse(consoleTopology(VERSIONED_SERVICES)) as { services: { name: string; useCases: unknown[] }[] };
    expect(services.find((s) => s.name === 'greetings')?.useCases).toEqual([{ name: 'welcome', kind: 'events', topics: [MemberJoinedV2.contract.topic, MemberJoinedV1.contract.topic] }]);
  });
});
