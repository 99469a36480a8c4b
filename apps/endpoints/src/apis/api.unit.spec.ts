import { assertValidEvent } from '@platform/contracts';
import { BusinessRuleViolation, EntityNotFound } from '@platform/service-kit';
import { API_SNAPSHOTS, decide, evolve, initialApiState, type ApiCommand, type ApiState } from './api';
import { integrationEventFor } from './api.integration';

const apiId = '9f1c2a6e-3b7d-4c1e-8f20-5a6b7c8d9e01';
const ownerId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const e1 = '0d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9aa';
const e2 = '1d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9ab';

function run(commands: ApiCommand[], state = initialApiState()): ApiState {
  return commands.reduce((s, c) => decide(c, s).reduce(evolve, s), state);
}

const created = (): ApiState => run([{ type: 'CreateApi', apiId, ownerId, name: 'Orders', basePath: '/orders' }]);
const add = (endpointId: string, method: 'GET' | 'POST', path: string): ApiCommand => ({ type: 'AddEndpoint', endpointId, method, path, upstreamUrl: 'http://orders.internal' });

describe('API aggregate', () => {
  it('creates an API once', () => {
    const state = created();
    expect(state).toMatchObject({ exists: true, apiId, ownerId, name: 'Orders', status: 'active' });
    expect(() => decide({ type: 'CreateApi', apiId, ownerId, name: 'x', basePath: '/x' }, state)).toThrow(BusinessRuleViolation);
  });

  it('keeps method + path unique within an API, also when an endpoint is moved', () => {
    const state = run([add(e1, 'GET', '/orders'), add(e2, 'POST', '/orders')], created());
    expect(() => decide(add('2d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9ac', 'GET', '/orders'), state)).toThrow(/already has GET \/orders/);
    expect(() => decide({ type: 'UpdateEndpoint', endpointId: e2, method: 'GET' }, state)).toThrow(/duplicate|already has/);
    expect(decide({ type: 'UpdateEndpoint', endpointId: e1, path: '/orders' }, state)).toEqual([]);
  });

  it('refuses every change once deprecated', () => {
    const state = run([add(e1, 'GET', '/orders'), { type: 'DeprecateApi', reason: 'v2 is out' }], created());
    expect(state.status).toBe('deprecated');
    for (const command of [add(e2, 'POST', '/orders'), { type: 'RemoveEndpoint', endpointId: e1 } as ApiCommand, { type: 'DeprecateApi', reason: 'again' } as ApiCommand]) {
      expect(() => decide(command, state)).toThrow(/deprecated/);
    }
  });

  it('retires an API for a closure unless it is under a retention hold, and restores it only for that closure', () => {
    const closure = '7b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a17';
    const deprecated = run([{ type: 'DeprecateApi', reason: 'v2' }, { type: 'RetireApi', closureId: closure }], created());
    expect(deprecated).toMatchObject({ status: 'retired', retiredBy: closure, statusBeforeRetirement: 'deprecated' });
    expect(() => decide(add(e1, 'GET', '/x'), deprecated)).toThrow(/retired/);
    expect(decide({ type: 'RetireApi', closureId: closure }, deprecated)).toEqual([]);
    expect(decide({ type: 'RestoreApi', closureId: 'another' }, deprecated)).toEqual([]);
    expect(run([{ type: 'RestoreApi', closureId: closure }], deprecated)).toMatchObject({ status: 'deprecated', retiredBy: null });
    const held = run([{ type: 'PlaceRetentionHold', reason: 'audit 2026' }], created());
    expect(held.retentionHold).toBe('audit 2026');
    expect(() => decide({ type: 'RetireApi', closureId: closure }, held)).toThrow(/retention hold: audit 2026/);
    expect(integrationEventFor({ type: 'RetentionHoldPlaced', data: { reason: 'x' } }, held, 2)).toBeUndefined();
    const retired = decide({ type: 'RetireApi', closureId: closure }, created());
    expect(integrationEventFor(retired[0], retired.reduce(evolve, created()), 2)).toMatchObject({ payload: { status: 'retired', version: 2 } });
  });

  it('reports unknown APIs and endpoints as not found', () => {
    expect(() => decide(add(e1, 'GET', '/x'), initialApiState())).toThrow(EntityNotFound);
    expect(() => decide({ type: 'RemoveEndpoint', endpointId: e1 }, created())).toThrow(EntityNotFound);
  });

  it('survives a snapshot round trip', () => {
    const state = run([add(e1, 'GET', '/orders')], created());
    const json = JSON.parse(JSON.stringify(API_SNAPSHOTS.toSnapshot(state)));
    expect(API_SNAPSHOTS.fromSnapshot(json)).toEqual(state);
  });

  it('maps its events to valid integration events', () => {
    const before = run([add(e1, 'GET', '/orders')], created());
    const [removed] = decide({ type: 'RemoveEndpoint', endpointId: e1 }, before);
    const after = evolve(before, removed);
    const integration = integrationEventFor(removed, after, 3);
    if (!integration) throw new Error('EndpointRemoved leaves as an integration event');
    expect(integration.payload).toEqual({ apiId, ownerId, endpointId: e1, method: 'GET', path: '/orders', version: 3 });
    expect(() => assertValidEvent(integration.event, integration.payload)).not.toThrow();
  });
});
