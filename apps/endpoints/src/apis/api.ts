import type { ApiStatus, HttpMethod } from '@platform/contracts';
import { BusinessRuleViolation, EntityNotFound } from '@platform/service-kit';
import type { ApiEvent, EndpointData } from './api.events';

/** The API aggregate: pure decide/evolve, no I/O (stored in the event store by apis.service). */
export interface ApiState {
  readonly exists: boolean;
  readonly apiId: string;
  readonly ownerId: string;
  readonly name: string;
  readonly basePath: string;
  readonly status: ApiStatus;
  readonly endpoints: ReadonlyMap<string, EndpointData>;
}

export type ApiCommand =
  | { type: 'CreateApi'; apiId: string; ownerId: string; name: string; basePath: string }
  | { type: 'ChangeApiDetails'; name?: string; basePath?: string }
  | { type: 'AddEndpoint'; endpointId: string; method: HttpMethod; path: string; upstreamUrl: string }
  | { type: 'UpdateEndpoint'; endpointId: string; method?: HttpMethod; path?: string; upstreamUrl?: string }
  | { type: 'RemoveEndpoint'; endpointId: string }
  | { type: 'DeprecateApi'; reason: string };

export const initialApiState = (): ApiState => ({ exists: false, apiId: '', ownerId: '', name: '', basePath: '', status: 'active', endpoints: new Map() });

export function evolve(state: ApiState, event: ApiEvent): ApiState {
  switch (event.type) {
    case 'ApiRegistered':
      return { ...state, ...event.data, exists: true, status: 'active' };
    case 'ApiDetailsChanged':
      return { ...state, ...event.data };
    case 'EndpointAdded':
    case 'EndpointChanged':
      return { ...state, endpoints: new Map(state.endpoints).set(event.data.endpointId, event.data) };
    case 'EndpointRemoved': {
      const endpoints = new Map(state.endpoints);
      endpoints.delete(event.data.endpointId);
      return { ...state, endpoints };
    }
    case 'ApiDeprecated':
      return { ...state, status: 'deprecated' };
  }
}

function assertCanChange(state: ApiState): void {
  if (!state.exists) throw new EntityNotFound('API', state.apiId || '(unknown)');
  if (state.status === 'deprecated') throw new BusinessRuleViolation('api-deprecated', `API ${state.apiId} is deprecated and refuses changes`);
}

function assertRouteFree(state: ApiState, method: HttpMethod, path: string, except?: string): void {
  for (const endpoint of state.endpoints.values()) {
    if (endpoint.endpointId !== except && endpoint.method === method && endpoint.path === path) {
      throw new BusinessRuleViolation('duplicate-route', `API ${state.apiId} already has ${method} ${path} (endpoint ${endpoint.endpointId})`);
    }
  }
}

function endpointOf(state: ApiState, endpointId: string): EndpointData {
  const endpoint = state.endpoints.get(endpointId);
  if (!endpoint) throw new EntityNotFound('endpoint', endpointId);
  return endpoint;
}

/** What the command means given the current state: the events to append, or a refusal. */
export function decide(command: ApiCommand, state: ApiState): ApiEvent[] {
  switch (command.type) {
    case 'CreateApi':
      if (state.exists) throw new BusinessRuleViolation('api-exists', `API ${command.apiId} already exists`);
      return [{ type: 'ApiRegistered', data: { apiId: command.apiId, ownerId: command.ownerId, name: command.name, basePath: command.basePath } }];
    case 'ChangeApiDetails': {
      assertCanChange(state);
      const name = command.name ?? state.name;
      const basePath = command.basePath ?? state.basePath;
      return name === state.name && basePath === state.basePath ? [] : [{ type: 'ApiDetailsChanged', data: { name, basePath } }];
    }
    case 'AddEndpoint':
      assertCanChange(state);
      if (state.endpoints.has(command.endpointId)) throw new BusinessRuleViolation('endpoint-exists', `endpoint ${command.endpointId} already exists`);
      assertRouteFree(state, command.method, command.path);
      return [{ type: 'EndpointAdded', data: { endpointId: command.endpointId, method: command.method, path: command.path, upstreamUrl: command.upstreamUrl } }];
    case 'UpdateEndpoint': {
      assertCanChange(state);
      const current = endpointOf(state, command.endpointId);
      const next: EndpointData = {
        endpointId: current.endpointId,
        method: command.method ?? current.method,
        path: command.path ?? current.path,
        upstreamUrl: command.upstreamUrl ?? current.upstreamUrl,
      };
      assertRouteFree(state, next.method, next.path, current.endpointId);
      const unchanged = next.method === current.method && next.path === current.path && next.upstreamUrl === current.upstreamUrl;
      return unchanged ? [] : [{ type: 'EndpointChanged', data: next }];
    }
    case 'RemoveEndpoint': {
      assertCanChange(state);
      const removed = endpointOf(state, command.endpointId);
      return [{ type: 'EndpointRemoved', data: { endpointId: removed.endpointId, method: removed.method, path: removed.path } }];
    }
    case 'DeprecateApi':
      assertCanChange(state);
      return [{ type: 'ApiDeprecated', data: { reason: command.reason } }];
  }
}

/** The aggregate as the event store's Decider, with snapshots (endpoints as an array in JSON). */
export const apiDecider = { initialState: initialApiState, evolve, decide };

export const API_SNAPSHOTS = {
  every: 25,
  schemaVersion: 1,
  toSnapshot: (state: ApiState) => ({ ...state, endpoints: [...state.endpoints.values()] }),
  fromSnapshot: (json: unknown) => {
    const stored = json as Omit<ApiState, 'endpoints'> & { endpoints: EndpointData[] };
    return { ...stored, endpoints: new Map(stored.endpoints.map((e) => [e.endpointId, e])) };
  },
};

export const apiStream = (apiId: string): string => `api-${apiId}`;
