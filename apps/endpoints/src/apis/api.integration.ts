import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import type { PendingEvent } from '@platform/messaging';
import type { ApiState } from './api';
import type { ApiEvent } from './api.events';

/**
 * Integration events for other services, derived from the aggregate's own events. `after` is
 * the state after the event, `version` the stream version the event got.
 */
export function integrationEventFor(event: ApiEvent, after: ApiState, version: number): PendingEvent {
  const api = { apiId: after.apiId, ownerId: after.ownerId };
  switch (event.type) {
    case 'ApiRegistered':
      return { event: ApiCreated, payload: { ...api, name: after.name, basePath: after.basePath, version } };
    case 'ApiDetailsChanged':
    case 'ApiDeprecated':
      return { event: ApiUpdated, payload: { ...api, name: after.name, basePath: after.basePath, status: after.status, version } };
    case 'EndpointAdded':
    case 'EndpointChanged':
      return { event: EndpointUpdated, payload: { ...api, ...event.data, change: event.type === 'EndpointAdded' ? 'added' : 'updated', version } };
    case 'EndpointRemoved':
      return { event: EndpointRemoved, payload: { ...api, ...event.data, version } };
  }
}
