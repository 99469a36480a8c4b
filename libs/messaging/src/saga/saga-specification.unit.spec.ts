import { randomUUID } from 'node:crypto';
import { NotificationSent, UserCreated, UserDeactivated, UserRenamed, type EventClass } from '@platform/contracts';
import type { EnvelopeOf, SagaInput } from '../index';
import { OnboardingSaga } from '../../test/fixtures/onboarding.saga';
import { sagaSpecification } from './saga-specification';

type Events = readonly [typeof UserCreated, typeof UserRenamed, typeof UserDeactivated];
const userId = randomUUID();

function message<T extends object>(event: EventClass<T>, payload: T): SagaInput<Events> {
  const envelope = { id: randomUUID(), type: event.contract.ceType, source: '/test', time: new Date().toISOString(), correlationId: 'c', causationId: null, key: userId, payload, event, topic: 't', partition: 0, offset: '0' };
  return { kind: 'message', message: envelope as unknown as EnvelopeOf<Events> };
}

const created = message(UserCreated, { userId, email: 'a@example.com', displayName: 'Ada' });
const renamed = (to: string) => message(UserRenamed, { userId, displayName: to, previousDisplayName: 'x' });

describe('a saga, given/when/then (no Kafka, no database)', () => {
  const spec = sagaSpecification(new OnboardingSaga());

  it('schedules its reminder when started', () => {
    spec.given().when(created).then(({ decision, state }) => {
      expect(decision.schedule).toEqual([{ name: 'reminder', afterMs: 1500, data: { userId } }]);
      expect(state).toEqual({ created: true, renames: 0, name: 'Ada' });
    });
  });

  it('evolves its state from what it has seen, in any order', () => {
    const { state } = spec.given(renamed('B'), created).when(renamed('C')).outcome;
    expect(state).toMatchObject({ created: true, renames: 2, name: 'C' });
  });

  it('sends the reminder with what it counted and ends when the timeout fires', () => {
    spec.given(created, renamed('B')).when({ kind: 'timeout', name: 'reminder', data: { userId } }).then(({ decision, sentTypes }) => {
      expect(sentTypes).toEqual([NotificationSent.contract.type]);
      expect(decision.send?.[0].payload).toMatchObject({ userId, kind: 'reminder', subject: 'renamed 1 times' });
      expect(decision.end).toBe('completed');
    });
  });

  it('ends when the user is deactivated', () => {
    expect(spec.given(created).when(message(UserDeactivated, { userId, reason: 'requested' })).outcome.decision).toEqual({ end: 'failed' });
  });
});
