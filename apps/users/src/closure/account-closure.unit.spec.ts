import { randomUUID } from 'node:crypto';
import { AccountClosureRequested, AccountReopened, ApiRetirementRefused, ApisRestored, ApisRetired, ReopenAccount, RestoreApis, RetireApis, SendClosureFailed, SendGoodbye, type EventClass } from '@platform/contracts';
import { sagaSpecification, type SagaInput } from '@platform/messaging';
import { AccountClosureSaga } from './account-closure.saga';
import type { ClosureEvents } from './account-closure.process';

const closureId = randomUUID();
const userId = randomUUID();
const apiId = randomUUID();
const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function message<T extends object>(event: EventClass<T>, payload: T, ms: number): SagaInput<ClosureEvents> {
  const envelope = { id: randomUUID(), type: event.contract.ceType, source: '/test', time: at(ms), correlationId: 'c', causationId: null, key: userId, payload, event, topic: 't', partition: 0, offset: '0' };
  return { kind: 'message', message: envelope as never };
}
const types = (...events: EventClass[]) => events.map((e) => e.contract.type);

const requested = message(AccountClosureRequested, { closureId, userId, email: 'ada@example.com', displayName: 'Ada' }, 0);
const retired = (ms: number) => message(ApisRetired, { closureId, ownerId: userId, apiIds: [apiId] }, ms);
const refused = message(ApiRetirementRefused, { closureId, ownerId: userId, reason: 'API Orders is under a retention hold: audit', apiIds: [apiId] }, 100);
const restored = (ms: number) => message(ApisRestored, { closureId, ownerId: userId, apiIds: [] }, ms);
const reopened = (ms: number) => message(AccountReopened, { closureId, userId }, ms);
const timedOut: SagaInput<ClosureEvents> = { kind: 'timeout', name: 'step:retire-apis', data: { step: 'retire-apis', dueAt: at(1000) } };

describe('the account closure (given/when/then)', () => {
  const spec = sagaSpecification(new AccountClosureSaga({ stepTimeoutMs: 1000, lateAnswerWindowMs: 60_000 }), closureId);

  it('asks endpoints to retire the APIs, then says goodbye and completes', () => {
    spec.given().when(requested).then(({ sentTypes, decision }) => {
      expect(sentTypes).toEqual(types(RetireApis));
      expect(decision.send?.[0].payload).toEqual({ closureId, ownerId: userId });
      expect(decision.schedule?.map((t) => [t.name, t.afterMs])).toEqual([['step:retire-apis', 1000]]);
    });
    spec.given(requested).when(retired(100)).then(({ sentTypes, decision, state }) => {
      expect(sentTypes).toEqual(types(SendGoodbye));
      expect(decision.end).toBe('completed');
      expect(state.steps.map((s) => [s.name, s.status, s.result])).toEqual([['close-account', 'done', null], ['retire-apis', 'done', [apiId]]]);
    });
  });

  it('on a refusal reopens the account and tells the user why', () => {
    spec.given(requested).when(refused).then(({ sentTypes, decision }) => {
      expect(sentTypes).toEqual(types(ReopenAccount));
      expect(decision.send?.[0].payload).toEqual({ closureId, userId });
    });
    spec.given(requested, refused).when(reopened(200)).then(({ sentTypes, decision }) => {
      expect(sentTypes).toEqual(types(SendClosureFailed));
      expect(decision.send?.[0].payload).toMatchObject({ reason: 'retire-apis refused: API Orders is under a retention hold: audit' });
      expect(decision.end).toBe('compensated');
    });
  });

  it('on a timeout restores the APIs, reopens the account, tells the user, and undoes a late retirement', () => {
    expect(spec.given(requested).when(timedOut).outcome.sentTypes).toEqual(types(RestoreApis));
    expect(spec.given(requested, timedOut).when(restored(1100)).outcome.sentTypes).toEqual(types(ReopenAccount));
    const compensated = spec.given(requested, timedOut, restored(1100)).when(reopened(1200)).outcome;
    expect(compensated.sentTypes).toEqual(types(SendClosureFailed));
    expect(compensated.decision.end).toBeUndefined();
    spec.given(requested, timedOut, restored(1100), reopened(1200)).when(retired(5000)).then(({ sentTypes, state }) => {
      expect(sentTypes).toEqual(types(RestoreApis));
      expect(state.phase).toBe('compensated');
    });
    expect(spec.given(requested, timedOut, restored(1100), reopened(1200), retired(5000)).when(restored(5100)).outcome.decision).toEqual({ end: 'compensated' });
  });
});
