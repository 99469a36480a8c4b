import { randomUUID } from 'node:crypto';
import { bearer, eventually, freePort, httpJson, ServiceProcess, TestPlatform, TestTokens, type HttpResult } from '@platform/testing';

interface Problem {
  statusCode: number;
  error: string;
  message: string;
  correlationId: string;
}
interface User {
  id: string;
}
interface Api {
  id: string;
  ownerId: string;
}
interface Notification {
  id: string;
  userId: string;
}

/**
 * Every service's API behind bearer tokens, as real processes on a real broker and databases:
 * 401 without a valid token, 403 across users and for non-operators on operator routes, 2xx for
 * the owner and (reads) the operator; health, metrics and the OpenAPI document stay open.
 */
describe('authentication and authorization (four services, Kafka, PostgreSQL)', () => {
  const platform = new TestPlatform();
  const alice = randomUUID();
  const bob = randomUUID();
  const as = { alice: () => platform.asUser(alice), bob: () => platform.asUser(bob), operator: () => platform.asOperator() };
  const url = (service: string, path: string) => `${platform.service(service).url}${path}`;
  const call = <T = unknown>(service: string, method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    httpJson<T>(method, url(service, path), body, headers);

  beforeAll(async () => {
    await platform.start();
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
  }, 60_000);

  /** A 401 or 403 in the services' error body, carrying the request's correlation id. */
  function expectRefused(response: HttpResult<unknown>, status: 401 | 403, correlationId: string): void {
    expect(response.status).toBe(status);
    expect(response.body as Problem).toMatchObject({ statusCode: status, error: status === 401 ? 'Unauthorized' : 'Forbidden', correlationId });
    expect(response.headers.get('x-correlation-id')).toBe(correlationId);
    if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  }

  it('401 on every service without a token, with a bad signature, or expired', async () => {
    const forged = new TestTokens(undefined, 'platform-e2e', 'platform').asUser(alice);
    const expired = bearer(platform.tokens.token({ sub: alice, expiresInS: -300 }));
    const routes: [string, string][] = [
      ['users', `/users/${alice}`],
      ['endpoints', '/apis'],
      ['templates', '/templates'],
      ['notifications', `/users/${alice}/notifications`],
    ];
    for (const [service, path] of routes) {
      for (const [label, headers] of [['none', {}], ['forged', forged], ['expired', expired]] as const) {
        const correlationId = `auth-${service}-${label}-${randomUUID()}`;
        expectRefused(await call(service, 'GET', path, { ...headers, 'x-correlation-id': correlationId }), 401, correlationId);
      }
    }
  });

  it('health, metrics and the OpenAPI document stay open; the document declares the bearer scheme', async () => {
    for (const service of ['users', 'endpoints', 'templates', 'notifications']) {
      expect((await call(service, 'GET', '/health/live', {})).status).toBe(200);
      expect((await call(service, 'GET', '/health/ready', {})).status).toBe(200);
      expect((await call(service, 'GET', '/metrics', {})).status).toBe(200);
      const docs = await call<{ components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, { security: unknown }>> }>(service, 'GET', '/docs-json', {});
      expect(docs.status).toBe(200);
      expect(docs.body.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(docs.body.paths['/health/ready']?.['get']?.security).toEqual([]);
    }
  });

  it("users: register as the token's subject; a user reads and changes only themselves; listing and sagas are for operators", async () => {
    const registered = await call<User>('users', 'POST', '/users', as.alice(), { email: `alice.${alice}@example.com`, displayName: 'Alice' });
    expect(registered.status).toBe(201);
    expect(registered.body.id).toBe(alice);
    expect((await call<User>('users', 'POST', '/users', as.bob(), { email: `bob.${bob}@example.com`, displayName: 'Bob' })).body.id).toBe(bob);
    expect((await call('users', 'POST', '/users', as.alice(), { email: `again.${alice}@example.com`, displayName: 'Alice again' })).status).toBe(409);

    expect((await call('users', 'GET', `/users/${alice}`, as.alice())).status).toBe(200);
    expect((await call('users', 'GET', `/users/${alice}`, as.operator())).status).toBe(200);
    expectRefused(await call('users', 'GET', `/users/${alice}`, { ...as.bob(), 'x-correlation-id': 'bob-reads-alice' }), 403, 'bob-reads-alice');
    expectRefused(await call('users', 'POST', `/users/${alice}/rename`, { ...as.bob(), 'x-correlation-id': 'bob-renames-alice' }, { displayName: 'Mallory' }), 403, 'bob-renames-alice');
    expectRefused(await call('users', 'POST', `/users/${alice}/close`, { ...as.operator(), 'x-correlation-id': 'operator-closes-alice' }), 403, 'operator-closes-alice');
    expect((await call('users', 'POST', `/users/${alice}/rename`, as.alice(), { displayName: 'Alice L.' })).status).toBe(200);

    expectRefused(await call('users', 'GET', '/users', { ...as.alice(), 'x-correlation-id': 'alice-lists' }), 403, 'alice-lists');
    const all = await call<User[]>('users', 'GET', '/users', as.operator());
    expect(all.body.map((u) => u.id)).toEqual(expect.arrayContaining([alice, bob]));
    expectRefused(await call('users', 'GET', '/sagas', { ...as.alice(), 'x-correlation-id': 'alice-sagas' }), 403, 'alice-sagas');
    expect((await call('users', 'GET', '/sagas', as.operator())).status).toBe(200);

    // An operator registers someone else: a new id, not the operator's.
    const byOperator = await call<User>('users', 'POST', '/users', as.operator(), { email: `carol.${randomUUID()}@example.com`, displayName: 'Carol' });
    expect(byOperator.status).toBe(201);
    expect(byOperator.body.id).not.toBe(platform.tokens.operatorId);
  });

  it("endpoints: the owner is the token's subject; another user's API is a 403; projections are for operators", async () => {
    expect((await call('endpoints', 'POST', '/apis', as.alice(), { ownerId: bob, name: 'Spoofed', basePath: '/spoofed' })).status).toBe(400);
    const created = await call<Api>('endpoints', 'POST', '/apis', as.alice(), { name: 'Orders', basePath: '/orders' });
    expect(created.status).toBe(201);
    expect(created.body.ownerId).toBe(alice);
    const api = created.body.id;

    await eventually(async () => expect((await call<Api[]>('endpoints', 'GET', '/apis', as.alice())).body.map((a) => a.id)).toEqual([api]));
    expect((await call<Api[]>('endpoints', 'GET', '/apis', as.bob())).body).toEqual([]);
    expect((await call<Api[]>('endpoints', 'GET', `/apis?ownerId=${alice}`, as.operator())).body.map((a) => a.id)).toEqual([api]);
    expectRefused(await call('endpoints', 'GET', `/apis?ownerId=${alice}`, { ...as.bob(), 'x-correlation-id': 'bob-lists-alice' }), 403, 'bob-lists-alice');
    await eventually(async () => expect((await call('endpoints', 'GET', `/apis/${api}`, as.alice())).status).toBe(200));
    expect((await call('endpoints', 'GET', `/apis/${api}`, as.operator())).status).toBe(200);
    expectRefused(await call('endpoints', 'GET', `/apis/${api}`, { ...as.bob(), 'x-correlation-id': 'bob-reads-api' }), 403, 'bob-reads-api');

    const endpoint = { method: 'GET', path: '/orders', upstreamUrl: 'http://orders.internal/v1' };
    expectRefused(await call('endpoints', 'POST', `/apis/${api}/endpoints`, { ...as.bob(), 'x-correlation-id': 'bob-adds' }, endpoint), 403, 'bob-adds');
    expectRefused(await call('endpoints', 'PATCH', `/apis/${api}`, { ...as.operator(), 'x-correlation-id': 'operator-renames-api' }, { name: 'Hijacked' }), 403, 'operator-renames-api');
    expect((await call('endpoints', 'POST', `/apis/${api}/endpoints`, as.alice(), endpoint)).status).toBe(201);

    expectRefused(await call('endpoints', 'GET', '/projections', { ...as.alice(), 'x-correlation-id': 'alice-projections' }), 403, 'alice-projections');
    expectRefused(await call('endpoints', 'POST', '/projections/api-catalog/rebuild', { ...as.alice(), 'x-correlation-id': 'alice-rebuilds' }), 403, 'alice-rebuilds');
    expect((await call('endpoints', 'GET', '/projections', as.operator())).status).toBe(200);
    expect((await call('endpoints', 'POST', '/projections/api-catalog/rebuild', as.operator())).status).toBe(200);

    // notifications' views of that API belong to its owner as well.
    await eventually(async () => expect((await call<unknown[]>('notifications', 'GET', `/apis/${api}/audit`, as.alice())).body).toHaveLength(1), { timeoutMs: 15_000 });
    expect((await call('notifications', 'GET', `/apis/${api}/audit`, as.operator())).status).toBe(200);
    expectRefused(await call('notifications', 'GET', `/apis/${api}/audit`, { ...as.bob(), 'x-correlation-id': 'bob-audit' }), 403, 'bob-audit');
    expect((await call('notifications', 'GET', `/users/${alice}/digests`, as.alice())).status).toBe(200);
    expect((await call('notifications', 'GET', `/users/${alice}/digests`, as.operator())).status).toBe(200);
    expectRefused(await call('notifications', 'GET', `/users/${alice}/digests`, { ...as.bob(), 'x-correlation-id': 'bob-digests' }), 403, 'bob-digests');
  });

  it('templates: anyone signed in reads them, only operators write them', async () => {
    const template = { name: `auth-${randomUUID().slice(0, 8)}`, channel: 'email', subject: 'Hi {{displayName}}', body: 'Hello {{displayName}}' };
    expectRefused(await call('templates', 'POST', '/templates', { ...as.alice(), 'x-correlation-id': 'alice-writes-template' }, template), 403, 'alice-writes-template');
    const created = await call<{ id: string }>('templates', 'POST', '/templates', as.operator(), template);
    expect(created.status).toBe(201);
    expectRefused(await call('templates', 'PUT', `/templates/${created.body.id}`, { ...as.bob(), 'x-correlation-id': 'bob-revises' }, { subject: 'Pwned' }), 403, 'bob-revises');
    expect((await call('templates', 'GET', '/templates', as.alice())).status).toBe(200);
    expect((await call('templates', 'GET', `/templates/${created.body.id}`, as.bob())).status).toBe(200);
  });

  it("notifications: a user's notifications are theirs (and operators')", async () => {
    const [welcome] = await eventually(
      async () => {
        const list = await call<Notification[]>('notifications', 'GET', `/users/${alice}/notifications`, as.alice());
        expect(list.status).toBe(200);
        expect(list.body.length).toBeGreaterThan(0);
        return list.body;
      },
      { timeoutMs: 15_000 },
    );
    expect(welcome?.userId).toBe(alice);
    expect((await call('notifications', 'GET', `/users/${alice}/notifications`, as.operator())).status).toBe(200);
    expectRefused(await call('notifications', 'GET', `/users/${alice}/notifications`, { ...as.bob(), 'x-correlation-id': 'bob-inbox' }), 403, 'bob-inbox');
    expect((await call('notifications', 'GET', `/notifications/${welcome?.id}`, as.alice())).status).toBe(200);
    expectRefused(await call('notifications', 'GET', `/notifications/${welcome?.id}`, { ...as.bob(), 'x-correlation-id': 'bob-reads-one' }), 403, 'bob-reads-one');
  });
});

/**
 * NODE_ENV=production (what the images set) without AUTH_JWT_SECRET or AUTH_JWKS_URL: the process
 * would verify (the console: sign) tokens with the public development secret. It refuses to
 * start instead, with EX_CONFIG and a line naming the variables.
 */
describe('production without a token key: refusing to start', () => {
  /** sysexits.h EX_CONFIG. */
  const EX_CONFIG = 78;
  // Blank, so that nothing the test runner's environment holds stands in for them.
  const withoutKey = { NODE_ENV: 'production', AUTH_JWT_SECRET: '', AUTH_JWKS_URL: '' };
  const refusal = 'AUTH_JWT_SECRET or AUTH_JWKS_URL is required with NODE_ENV=production';

  it('a service exits 78 naming AUTH_JWT_SECRET and AUTH_JWKS_URL', async () => {
    const users = new ServiceProcess('users', await freePort(), withoutKey).start();
    expect(await users.exited()).toBe(EX_CONFIG);
    expect(users.logs()).toContain(refusal);
  });

  it('the console exits 78 the same way', async () => {
    const console_ = new ServiceProcess('console', await freePort(), { ...withoutKey, CONSOLE_TOKEN: `e2e-${randomUUID()}` }).start();
    expect(await console_.exited()).toBe(EX_CONFIG);
    expect(console_.logs()).toContain(refusal);
  });
});
