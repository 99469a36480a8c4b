import { EndpointUpdated, UserCreated } from '@platform/contracts';
import { topologyIn } from '../topology/topology';
import { trailOf } from './correlation-trail';

const created = UserCreated.contract;
const updated = EndpointUpdated.contract;
const topology = topologyIn('ns', [
  { name: 'users', port: 1, publishes: [{ type: created.type, version: created.version, topic: created.topic }], useCases: [] },
  { name: 'endpoints', port: 2, publishes: [{ type: updated.type, version: updated.version, topic: updated.topic }], useCases: [] },
  {
    name: 'notifications',
    port: 3,
    publishes: [],
    useCases: [
      { name: 'welcome', kind: 'events', topics: [created.topic] },
      { name: 'endpoint-audit', kind: 'events', topics: [updated.topic] },
      { name: 'endpoint-digest', kind: 'windows', topics: [updated.topic] },
    ],
  },
]);
const message = (topic: string, offset: string, headers: Record<string, string>) => ({ topic, partition: 0, offset, key: 'k', value: Buffer.from('{}'), headers, timestamp: 0 });

describe('trailOf: a request through the topics and the use cases', () => {
  it('lists the events of the correlation id with their publisher and, per consuming use case, handled, waiting or dead-lettered', () => {
    const createdMessage = message(`ns.${created.topic}`, '5', { ce_id: 'e1', ce_type: created.ceType, ce_time: '2026-11-30T10:00:00Z', ce_correlationid: 'c1' });
    const updatedMessage = message(`ns.${updated.topic}`, '9', { ce_id: 'e2', ce_type: updated.ceType, ce_time: '2026-11-30T10:00:01Z', ce_correlationid: 'c1' });
    const other = message(`ns.${created.topic}`, '6', { ce_id: 'e3', ce_correlationid: 'c2' });
    const letter = message('ns.notifications.endpoint-audit.dlq', '0', { ce_id: 'e2', ce_correlationid: 'c1', dlq_reason: 'non-retriable', dlq_error_message: 'boom' });
    const committed = (group: string) => (group === 'ns.notifications.welcome' ? 6n : group === 'ns.notifications.endpoint-digest' ? 0n : -1n);
    const trail = trailOf(topology, 'c1', [other, updatedMessage, letter, createdMessage], committed);
    expect(trail.events.map((e) => [e.eventId, e.publishedBy, e.consumers.map((c) => `${c.useCase}:${c.status}`)])).toEqual([
      ['e1', 'users', ['welcome:handled']],
      ['e2', 'endpoints', ['endpoint-audit:dead-lettered', 'endpoint-digest:waiting']],
    ]);
    expect(trail.deadLetters).toEqual([{ topic: 'ns.notifications.endpoint-audit.dlq', offset: '0', eventId: 'e2', reason: 'non-retriable', error: 'boom' }]);
  });
});
