import type { EventClass } from './contract';
import {
  AccountClosureRequested,
  AccountReopened,
  ApiRetirementRefused,
  ApisRestored,
  ApisRetired,
  ReopenAccount,
  RestoreApis,
  RetireApis,
  SendClosureFailed,
  SendGoodbye,
  UserReactivated,
} from './events/account-closure.events';
import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from './events/endpoints.events';
import { NotificationSent } from './events/notifications.events';
import { TemplateUpdated } from './events/templates.events';
import { UserCreated, UserDeactivated, UserRenamed } from './events/users.events';

/** Every event and command type of the platform. Tooling (topic provisioning, ACLs, schema checks) reads this list. */
export const EVENT_REGISTRY: readonly EventClass[] = Object.freeze([
  UserCreated,
  UserRenamed,
  UserDeactivated,
  ApiCreated,
  ApiUpdated,
  EndpointUpdated,
  EndpointRemoved,
  TemplateUpdated,
  NotificationSent,
  AccountClosureRequested,
  ReopenAccount,
  AccountReopened,
  UserReactivated,
  RetireApis,
  ApisRetired,
  ApiRetirementRefused,
  RestoreApis,
  ApisRestored,
  SendGoodbye,
  SendClosureFailed,
]);

const byTopic = new Map(EVENT_REGISTRY.map((event) => [event.contract.topic, event]));
const byCeType = new Map(EVENT_REGISTRY.map((event) => [event.contract.ceType, event]));
if (byTopic.size !== EVENT_REGISTRY.length) throw new Error('Two event contracts derive the same topic');

export function eventForTopic(topic: string): EventClass | undefined {
  return byTopic.get(topic);
}

export function eventForCeType(ceType: string): EventClass | undefined {
  return byCeType.get(ceType);
}
