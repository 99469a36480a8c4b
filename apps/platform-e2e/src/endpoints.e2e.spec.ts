import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { TestPlatform, TopicReader, byEventId, eventually, expectNoDeadLetters, httpJson as anyoneHttpJson, waitForNoLag } from '@platform/testing';

interface ApiView {
  id: string;
  ownerId: string;
  name: string;
  status: string;
  version: number;
  endpoints: { endpointId: string; method: string; path: string; upstreamUrl: string }[];
}
interface EndpointChange {
  endpointId: string;
  version: number;
}
interface Problem {
  statusCode: number;
  code?: string;
  message?: string;
  currentVersion?: number;
}
interface AuditEntry {
  eventId: string;
  change: string;
  method: string;
  path: string;
  apiVersion: number;
}

/**
 * The event-sourced endpoints service over HTTP: ETags carry the stream version, a stale
 * If-Match is a 409 with the current version, invariants are 422s, the list and detail views
 * are projections, and integration events leave through the outbox of the append's
 * transaction (notifications' audit sees exactly the appended changes).
 */
describe('endpoints: event-sourced APIs (endpoints + notifications, Kafka, PostgreSQL)', () => {
  const platform = new TestPlatform(['endpoints', 'notifications']);
  const owner = randomUUID();
  /** Every request of this spec is the owner's, who creates the APIs and reads their audit. */
  const httpJson = <T = unknown>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => anyoneHttpJson<T>(method, url, body, { ...platform.asUser(owner), ...headers });
  const url = (path: string) => `${platform.service('endpoints').url}${path}`;
  const NOTIFICATIONS_USE_CASES = ['template-cache', 'welcome', 'endpoint-audit', 'endpoint-digest'].map((u) => `notifications.${u}`);
  const endpointUpdatedTopic = () => `${platform.namespace}.${EndpointUpdated.contract.topic}`;

  /** notifications has committed every EndpointUpdated (handled, or dead-lettered first) and dead-lettered none. */
  async function noDeadLetters(): Promise<void> {
    await waitForNoLag(platform.brokers, ['endpoint-audit', 'endpoint-digest'].map((u) => `${platform.namespace}.notifications.${u}`), [endpointUpdatedTopic()]);
    await expectNoDeadLetters(platform.brokers, platform.namespace, NOTIFICATIONS_USE_CASES);
  }

  beforeAll(async () => {
    await platform.start();
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
  }, 60_000);

  async function createApi(name: string): Promise<ApiView> {
    const created = await httpJson<ApiView>('POST', url('/apis'), { name, basePath: '/orders' });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    return created.body;
  }

  it('versions every change: ETag = stream version, stale If-Match is 409 with the current version', async () => {
    const api = await createApi('Orders');
    const first = await httpJson<EndpointChange>('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path: '/orders', upstreamUrl: 'http://orders.internal/v1' }, { 'if-match': '"1"' });
    expect(first.status).toBe(201);
    expect(first.headers.get('etag')).toBe('"2"');
    expect(first.body.version).toBe(2);

    const stale = await httpJson<Problem>('POST', url(`/apis/${api.id}/endpoints`), { method: 'POST', path: '/orders', upstreamUrl: 'http://orders.internal/v1' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body.currentVersion).toBe(2);
    expect(stale.headers.get('etag')).toBe('"2"');

    const bad = await httpJson<Problem>('PATCH', url(`/apis/${api.id}`), { name: 'x' }, { 'if-match': 'yesterday' });
    expect(bad.status).toBe(400);
  });

  it('enforces the invariants with 422: unique method + path, a deprecated API refuses changes', async () => {
    const api = await createApi('Billing');
    await httpJson('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path: '/bills', upstreamUrl: 'http://billing.internal' });
    const duplicate = await httpJson<Problem>('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path: '/bills', upstreamUrl: 'http://other.internal' });
    expect(duplicate.status).toBe(422);
    expect(duplicate.body.code).toBe('duplicate-route');

    const deprecated = await httpJson<ApiView>('POST', url(`/apis/${api.id}/deprecate`), { reason: 'replaced by v2' });
    expect(deprecated.body.status).toBe('deprecated');
    const refused = await httpJson<Problem>('POST', url(`/apis/${api.id}/endpoints`), { method: 'PUT', path: '/bills', upstreamUrl: 'http://billing.internal' });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('api-deprecated');
    expect((await httpJson<Problem>('DELETE', url(`/apis/${randomUUID()}/endpoints/${randomUUID()}`))).status).toBe(404);
  });

  it('serves the list and detail views from the projection, with the version as ETag', async () => {
    const api = await createApi('Catalog');
    const added = await httpJson<EndpointChange>('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path: '/items', upstreamUrl: 'http://catalog.internal' });
    await httpJson('PUT', url(`/apis/${api.id}/endpoints/${added.body.endpointId}`), { upstreamUrl: 'http://catalog-v2.internal' });
    const detail = await eventually(async () => {
      const response = await httpJson<ApiView>('GET', url(`/apis/${api.id}`));
      expect(response.status).toBe(200);
      expect(response.body.version).toBe(3);
      return response;
    });
    expect(detail.headers.get('etag')).toBe('"3"');
    expect(detail.body.endpoints).toEqual([{ endpointId: added.body.endpointId, method: 'GET', path: '/items', upstreamUrl: 'http://catalog-v2.internal' }]);
    const list = await httpJson<{ id: string; endpointCount: number }[]>('GET', url(`/apis?ownerId=${owner}`));
    expect(list.body.find((a) => a.id === api.id)).toMatchObject({ endpointCount: 1 });
  });

  it('publishes exactly the appended changes: of 20 concurrent writes on one version (more than the connection pool holds), one wins and only its event leaves', async () => {
    const api = await createApi('Race');
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => httpJson<EndpointChange>('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path: `/race/${i}`, upstreamUrl: 'http://race.internal' }, { 'if-match': '"1"' })),
    );
    expect(attempts.map((a) => a.status).sort()).toEqual([201, ...Array(19).fill(409)]);
    const winner = attempts.find((a) => a.status === 201)!;
    await httpJson('DELETE', url(`/apis/${api.id}/endpoints/${winner.body.endpointId}`));

    const notifications = platform.service('notifications').url;
    const audit = await eventually(
      async () => {
        const response = await httpJson<AuditEntry[]>('GET', `${notifications}/apis/${api.id}/audit`);
        expect(response.body).toHaveLength(1);
        return response.body;
      },
      { timeoutMs: 15_000 },
    );
    expect(audit[0]).toMatchObject({ change: 'added', method: 'GET', apiVersion: 2 });
    // One audit row could also be a second handling refused by the table's primary key: that would be a dead letter.
    await noDeadLetters();
  });

  it('retries a command without If-Match against the latest state: 50 concurrent additions all succeed, each appended and published once', async () => {
    const api = await createApi('Crowd');
    const reader = await new TopicReader(platform.brokers, [endpointUpdatedTopic()]).start();
    try {
      const paths = Array.from({ length: 50 }, (_, i) => `/crowd/${i}`);
      const responses = await Promise.all(paths.map((path) => httpJson<EndpointChange & Problem>('POST', url(`/apis/${api.id}/endpoints`), { method: 'GET', path, upstreamUrl: 'http://crowd.internal' })));
      const statuses = responses.reduce<Record<number, number>>((count, r) => ({ ...count, [r.status]: (count[r.status] ?? 0) + 1 }), {});
      expect({ statuses, refusals: [...new Set(responses.filter((r) => r.status !== 201).map((r) => r.body.message))] }).toEqual({ statuses: { 201: 50 }, refusals: [] });
      // Each request was applied once, on its own version: 2 … 51 (version 1 is ApiCreated).
      expect(responses.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
      const added = responses.map((r) => r.body.endpointId).sort();

      const detail = await eventually(
        async () => {
          const response = await httpJson<ApiView>('GET', url(`/apis/${api.id}`));
          expect(response.body.version).toBe(51);
          return response.body;
        },
        { timeoutMs: 15_000 },
      );
      expect(detail.endpoints.map((e) => e.endpointId).sort()).toEqual(added);
      expect(detail.endpoints.map((e) => e.path).sort()).toEqual([...paths].sort());

      // A last change of the same API goes to the same partition after the 50: once it is read, so is everything before it.
      const last = await httpJson<EndpointChange>('PUT', url(`/apis/${api.id}/endpoints/${added[0]}`), { upstreamUrl: 'http://crowd-v2.internal' }, { 'if-match': '"51"' });
      expect(last.status).toBe(200);
      expect(last.body.version).toBe(52);
      const ofApi = () => reader.messages.filter((m) => m.key === api.id).map((m) => ({ message: m, event: JSON.parse(m.value ?? 'null') as EndpointUpdated }));
      await eventually(() => expect(ofApi().some((e) => e.event.version === 52)).toBe(true), { timeoutMs: 15_000 });
      expect(ofApi()).toHaveLength(51); // the 50 additions and the last change, nothing else
      const additions = ofApi().filter((e) => e.event.change === 'added');
      expect(additions).toHaveLength(50);
      expect(byEventId(additions.map((e) => e.message)).size).toBe(50);
      expect(additions.map((e) => e.event.endpointId).sort()).toEqual(added);
      expect(additions.map((e) => e.event.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

      const audit = await eventually(
        async () => {
          const response = await httpJson<AuditEntry[]>('GET', `${platform.service('notifications').url}/apis/${api.id}/audit`);
          expect(response.body).toHaveLength(51);
          return response.body;
        },
        { timeoutMs: 20_000 },
      );
      expect(new Set(audit.map((a) => a.eventId)).size).toBe(51);
      await noDeadLetters();
    } finally {
      await reader.stop();
    }
  });
});
