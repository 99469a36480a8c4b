import type { ApiStatus, HttpMethod } from '@platform/contracts';

/**
 * The API aggregate's own events, as stored in its event-store stream. They are internal:
 * other services see the integration events of libs/contracts, mapped in api.integration.ts,
 * so this history can evolve without breaking anyone.
 */
export type ApiEvent =
  | { type: 'ApiRegistered'; data: { apiId: string; ownerId: string; name: string; basePath: string } }
  | { type: 'ApiDetailsChanged'; data: { name: string; basePath: string } }
  | { type: 'EndpointAdded'; data: EndpointData }
  | { type: 'EndpointChanged'; data: EndpointData }
  | { type: 'EndpointRemoved'; data: { endpointId: string; method: HttpMethod; path: string } }
  | { type: 'ApiDeprecated'; data: { reason: string } }
  | { type: 'RetentionHoldPlaced'; data: { reason: string } }
  | { type: 'ApiRetired'; data: { closureId: string; previousStatus: ApiStatus } }
  | { type: 'ApiRestored'; data: { closureId: string; status: ApiStatus } };

export interface EndpointData {
  readonly endpointId: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly upstreamUrl: string;
}

export const API_EVENT_TYPES: readonly ApiEvent['type'][] = [
  'ApiRegistered',
  'ApiDetailsChanged',
  'EndpointAdded',
  'EndpointChanged',
  'EndpointRemoved',
  'ApiDeprecated',
  'RetentionHoldPlaced',
  'ApiRetired',
  'ApiRestored',
];
