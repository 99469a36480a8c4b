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
  /** Why the API must be kept: it refuses retirement. */
  readonly retentionHold: string | null;
  /** The account closure that retired it, and the status it had before. */
  readonly retiredBy: string | null;
  readonly statusBeforeRetirement: ApiStatus | null;
}

export type ApiCommand =
  | { type: 'CreateApi'; apiId: string; ownerId: string; name: string; basePath: string }
  | { type: 'ChangeApiDetails'; name?: string; basePath?: string }
  | { type: 'AddEndpoint'; endpointId: string; method: HttpMethod; path: string; upstreamUrl: string }
  | { type: 'UpdateEndpoint'; endpointId: string; method?: HttpMethod; path?: string; upstreamUrl?: string }
  | { type: 'RemoveEndpoint'; endpointId: string }
  | { type: 'DeprecateApi'; reason: string }
  | { type: 'PlaceRetentionHold'; reason: string }
  | { type: 'RetireApi'; closureId: string }
  | { type: 'RestoreApi'; closureId: string };

export const initialApiState = (): ApiState => ({
  exists: false,
  apiId: '',
  ownerId: '',
  name: '',
  basePath: '',
  status: 'active',
  endpoints: new Map(),
  retentionHold: null,
  retiredBy: null,
  statusBeforeRetirement: null,
});

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
    case 'RetentionHoldPlaced':
      return { ...state, retentionHold: event.data.reason };
    case 'ApiRetired':
      return { ...state, status: 'retired', retiredBy: event.data.closureId, statusBeforeRetirement: event.data.previousStatus };
    case 'ApiRestored':
      return { ...state, status: event.data.status, retiredBy: null, statusBeforeRetirement: null };
  }
}

function assertCanChange(state: ApiState): void {
  if (!state.exists) throw new EntityNotFound('API', state.apiId || '(unknown)');
  if (state.status === 'deprecated') throw new BusinessRuleViolation('api-deprecated', `API ${state.apiId} is deprecated and refuses changes`);
  if (state.status === 'retired') throw new BusinessRuleViolation('api-retired', `API ${state.apiId} is retired and refuses changes`);
}

function assertExists(state: ApiState): void {
  if (!state.exists) throw new EntityNotFound('API', state.apiId || '(unknown)');
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
    case 'PlaceRetentionHold':
      assertExists(state);
      return state.retentionHold === command.reason ? [] : [{ type: 'RetentionHoldPlaced', data: { reason: command.reason } }];
    case 'RetireApi':
      assertExists(state);
      if (state.retentionHold !== null) throw new BusinessRuleViolation('retention-hold', `API ${state.apiId} is under a retention hold: ${state.retentionHold}`);
      // Retired already (by this closure, or another): nothing more to do, and nothing to restore for this one.
      return state.status === 'retired' ? [] : [{ type: 'ApiRetired', data: { closureId: command.closureId, previousStatus: state.status } }];
    case 'RestoreApi':
      assertExists(state);
      return state.status === 'retired' && state.retiredBy === command.closureId
        ? [{ type: 'ApiRestored', data: { closureId: command.closureId, status: state.statusBeforeRetirement ?? 'active' } }]
        : [];
  }
}

/** The aggregate as the event store's Decider, with snapshots (endpoints as an array in JSON). */
export const apiDecider = { initialState: initialApiState, evolve, decide };

export const API_SNAPSHOTS = {
  every: 25,
  // 2: retention hold and retirement in the state
  schemaVersion: 2,
  toSnapshot: (state: ApiState) => ({ ...state, endpoints: [...state.endpoints.values()] }),
  fromSnapshot: (json: unknown) => {
    const stored = json as Omit<ApiState, 'endpoints'> & { endpoints: EndpointData[] };
    return { ...stored, endpoints: new Map(stored.endpoints.map((e) => [e.endpointId, e])) };
  },
};

export const apiStream = (apiId: string): string => `api-${apiId}`;
