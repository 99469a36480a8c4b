import { BusinessRuleViolation } from '@platform/service-kit';

/**
 * What endpoints did for one account closure, as an aggregate of its own (stream
 * `closure-retirement-<closureId>`): retired these APIs, refused (and why), or restored. It
 * makes RetireApis and RestoreApis idempotent and order-proof: a restoration recorded first
 * (the compensation overtook the command) makes a later retirement a refusal.
 */
export type RetirementStatus = 'none' | 'retired' | 'refused' | 'restored';

export interface RetirementState {
  readonly status: RetirementStatus;
  readonly apiIds: readonly string[];
  readonly reason: string | null;
}

export type RetirementEvent =
  | { type: 'ApisRetirementRecorded'; data: { ownerId: string; apiIds: string[] } }
  | { type: 'ApisRetirementRefused'; data: { ownerId: string; reason: string; apiIds: string[] } }
  | { type: 'ApisRestorationRecorded'; data: { ownerId: string; apiIds: string[] } };

export type RetirementCommand =
  | { type: 'RecordRetirement'; ownerId: string; apiIds: string[] }
  | { type: 'RecordRefusal'; ownerId: string; reason: string; apiIds: string[] }
  | { type: 'RecordRestoration'; ownerId: string };

export const initialRetirementState = (): RetirementState => ({ status: 'none', apiIds: [], reason: null });

export function evolveRetirement(state: RetirementState, event: RetirementEvent): RetirementState {
  switch (event.type) {
    case 'ApisRetirementRecorded':
      return { status: 'retired', apiIds: event.data.apiIds, reason: null };
    case 'ApisRetirementRefused':
      return { status: 'refused', apiIds: event.data.apiIds, reason: event.data.reason };
    case 'ApisRestorationRecorded':
      return { ...state, status: 'restored' };
  }
}

export function decideRetirement(command: RetirementCommand, state: RetirementState): RetirementEvent[] {
  switch (command.type) {
    case 'RecordRetirement':
    case 'RecordRefusal':
      if (state.status !== 'none') throw new BusinessRuleViolation('retirement-decided', `this closure's retirement was ${state.status} already`);
      return command.type === 'RecordRetirement'
        ? [{ type: 'ApisRetirementRecorded', data: { ownerId: command.ownerId, apiIds: command.apiIds } }]
        : [{ type: 'ApisRetirementRefused', data: { ownerId: command.ownerId, reason: command.reason, apiIds: command.apiIds } }];
    case 'RecordRestoration':
      return state.status === 'restored' ? [] : [{ type: 'ApisRestorationRecorded', data: { ownerId: command.ownerId, apiIds: state.status === 'retired' ? [...state.apiIds] : [] } }];
  }
}

export const retirementDecider = { initialState: initialRetirementState, evolve: evolveRetirement, decide: decideRetirement };

export const retirementStream = (closureId: string): string => `closure-retirement-${closureId}`;

/** Why a RetireApis that comes after the closure's compensation retires nothing. */
export const CANCELLED_BEFORE_RETIREMENT = 'the account closure was cancelled (its APIs restored) before this retirement arrived';
