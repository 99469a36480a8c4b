import { AccountClosureRequested, AccountReopened, ApiRetirementRefused, ApisRestored, ApisRetired, ReopenAccount, RestoreApis, RetireApis, SendClosureFailed, SendGoodbye } from '@platform/contracts';
import { isEvent, type ProcessDefinition } from '@platform/messaging';
import type { ClosureSettings } from './closure.settings';

export const CLOSURE_EVENTS = [AccountClosureRequested, ApisRetired, ApiRetirementRefused, ApisRestored, AccountReopened] as const;
export type ClosureEvents = typeof CLOSURE_EVENTS;

export interface ClosureData {
  readonly [key: string]: string;
  readonly closureId: string;
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
}

/**
 * The account closure: the request deactivated the user already (step `close-account`, undone
 * by ReopenAccount); endpoints retires the user's APIs (undone by RestoreApis), and the goodbye
 * ends it. A refusal or a timeout restores the APIs, reopens the account and tells the user why.
 */
export function accountClosureProcess(settings: ClosureSettings): ProcessDefinition<ClosureData, ClosureEvents> {
  const ids = (d: ClosureData) => ({ closureId: d.closureId, userId: d.userId });
  return {
    start: (m) => {
      if (!isEvent(m, AccountClosureRequested)) return undefined;
      const { closureId, userId, email, displayName } = m.payload;
      return { closureId, userId, email, displayName };
    },
    steps: [
      {
        name: 'close-account',
        compensation: {
          command: (d) => ({ event: ReopenAccount, payload: ids(d) }),
          acknowledges: (m) => isEvent(m, AccountReopened),
          timeoutMs: settings.stepTimeoutMs,
        },
      },
      {
        name: 'retire-apis',
        command: (d) => ({ event: RetireApis, payload: { closureId: d.closureId, ownerId: d.userId } }),
        timeoutMs: settings.stepTimeoutMs,
        answer: (m) => {
          if (isEvent(m, ApisRetired)) return { outcome: 'done', result: m.payload.apiIds };
          if (isEvent(m, ApiRetirementRefused)) return { outcome: 'refused', reason: m.payload.reason };
          return undefined;
        },
        compensation: {
          command: (d) => ({ event: RestoreApis, payload: { closureId: d.closureId, ownerId: d.userId } }),
          acknowledges: (m) => isEvent(m, ApisRestored),
          timeoutMs: settings.stepTimeoutMs,
        },
      },
    ],
    onCompleted: (d) => [{ event: SendGoodbye, payload: { ...ids(d), email: d.email, displayName: d.displayName } }],
    onCompensated: (d, reason) => [{ event: SendClosureFailed, payload: { ...ids(d), email: d.email, displayName: d.displayName, reason: reason.slice(0, 1000) } }],
    lateAnswerWindowMs: settings.lateAnswerWindowMs,
  };
}
