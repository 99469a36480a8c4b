import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import type { PendingEvent } from '@platform/messaging';
import type { ApiState } from './api';
import type { ApiEvent } from './api.events';

/**
 * Integration events for other services, derived from the aggregate's own events. `after` is
 * the state after the event, `version` the stream version the event got. A retention hold is
 * the service's own business: nothing leaves.
 */
export function integrationEventFor(event: ApiEvent, after: ApiState, version: number): PendingEvent | undefined {
  const api = { apiId: after.apiId, ownerId: after.ownerId };
  switch (event.type) {
    case 'ApiRegistered':
      return { event: ApiCreated, payload: { ...api, name: after.name, basePath: after.basePath, version } };
    case 'ApiDetailsChanged':
    case 'ApiDeprecated':
    case 'ApiRetired':
    case 'ApiRestored':
      return { event: ApiUpdated, payload: { ...api, name: after.name, basePath: after.basePath, status: after.status, version } };
    case 'EndpointAdded':
    case 'EndpointChanged':
      return { event: EndpointUpdated, payload: { ...api, ...event.data, change: event.type === 'EndpointAdded' ? 'added' : 'updated', version } };
    case 'EndpointRemoved':
      return { event: EndpointRemoved, payload: { ...api, ...event.data, version } };
    case 'RetentionHoldPlaced':
      return undefined;
  }
}
