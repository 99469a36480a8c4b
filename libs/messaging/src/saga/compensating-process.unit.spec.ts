import { randomUUID } from 'node:crypto';
import type { EventClass } from '@platform/contracts';
import { Booking, BookingSaga, bookingInput } from '../../test/fixtures/booking.process';
import { sagaSpecification } from './saga-specification';
import { compensatingProcess, compensationsAcknowledged, currentProcessStep, isProcessState, PROCESS_TIMEOUTS, type ProcessState } from './compensating-process';

const saga = new BookingSaga();
const spec = sagaSpecification(saga);
const bookingId = randomUUID();
const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

type Input = Parameters<BookingSaga['decide']>[1];
const msg = (event: EventClass<never>, ms: number, extra: { reason?: string; detail?: string } = {}): Input => bookingInput(event as never, bookingId, at(ms), extra);
const requested = msg(Booking.Requested as never, 0);
const reserved = (ms = 100) => msg(Booking.RoomReserved as never, ms, { detail: 'room 12' });
const insured = (ms = 200) => msg(Booking.Insured as never, ms);
const charged = (ms = 300) => msg(Booking.Charged as never, ms);
/** A timeout as the library delivers it: the data it was scheduled with. */
const fired = (name: string, step: string, dueMs: number): Input => ({ kind: 'timeout', name, data: { step, dueAt: at(dueMs) } });
const payloadsOf = (outcome: { decision: { send?: readonly { payload: object }[] } }) => (outcome.decision.send ?? []).map((s) => s.payload);
const typesOf = (...classes: EventClass<never>[]) => classes.map((c) => c.contract.type);
const step = (state: ProcessState, name: string) => state.steps.find((s) => s.name === name)!;

describe('compensatingProcess: a saga of steps with compensations (given/when/then, no Kafka, no database)', () => {
  it('sends the steps one after the other, each with its timeout, and completes', () => {
    spec.given().when(requested).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.ReserveRoom as never));
      expect(decision.schedule).toEqual([{ name: 'step:room', afterMs: 1000, data: { step: 'room', dueAt: at(1000) } }]);
      expect(state).toMatchObject({ phase: 'running', data: { bookingId }, startedAt: at(0) });
      expect(step(state, 'request')).toMatchObject({ status: 'done', sentAt: at(0), answeredAt: at(0) });
      expect(step(state, 'room')).toMatchObject({ status: 'sent', sentAt: at(0) });
    });
    spec.given(requested).when(reserved()).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.Insure as never));
      expect(decision.cancel).toEqual(['step:room']);
      expect(decision.schedule?.map((t) => t.name)).toEqual(['step:insurance']);
      expect(step(state, 'room')).toMatchObject({ status: 'done', answeredAt: at(100), result: 'room 12' });
    });
    spec.given(requested, reserved(), insured()).when(charged()).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.Confirm as never));
      expect(decision.end).toBe('completed');
      expect(state).toMatchObject({ phase: 'completed', endedAt: at(300), reason: null });
      expect(state.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    });
  });

  it('runs the compensations of the done steps in reverse order when a step refuses, one at a time, then tells why', () => {
    const refused = msg(Booking.ChargeRefused as never, 300, { reason: 'card declined' });
    const afterRefusal = spec.given(requested, reserved(), insured()).when(refused).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.CancelInsurance as never));
      expect(decision.cancel).toEqual(['step:charge']);
      expect(decision.schedule?.map((t) => t.name)).toEqual(['compensation:insurance']);
      expect(decision.end).toBeUndefined();
      expect(state).toMatchObject({ phase: 'compensating', reason: 'charge refused: card declined' });
      expect(step(state, 'charge')).toMatchObject({ status: 'refused', reason: 'card declined', compensation: null });
    });
    expect(afterRefusal.state.phase).toBe('compensating');
    const insuranceCancelled = msg(Booking.InsuranceCancelled as never, 400);
    spec.given(requested, reserved(), insured(), refused).when(insuranceCancelled).then(({ decision, sentTypes }) => {
      expect(sentTypes).toEqual(typesOf(Booking.CancelRoom as never));
      expect(payloadsOf({ decision })).toEqual([{ bookingId, detail: 'room 12' }]);
      expect(decision.cancel).toEqual(['compensation:insurance']);
      expect(decision.schedule?.map((t) => t.name)).toEqual(['compensation:room']);
    });
    spec.given(requested, reserved(), insured(), refused, insuranceCancelled).when(msg(Booking.RoomCancelled as never, 500)).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.TellFailure as never));
      expect(payloadsOf({ decision })).toEqual([{ bookingId, reason: 'charge refused: card declined' }]);
      expect(decision.end).toBe('compensated');
      expect(state).toMatchObject({ phase: 'compensated', endedAt: at(500) });
      expect(state.steps.map((s) => s.compensation?.status ?? null)).toEqual([null, 'acknowledged', 'acknowledged', null]);
      expect(step(state, 'room').compensation).toMatchObject({ sentAt: at(400), acknowledgedAt: at(500), attempts: 1, rounds: 1 });
    });
  });

  it('compensates when a step does not answer before its timeout: the timed-out step first (its effect is unknown), then the others in reverse', () => {
    const timedOut = fired(PROCESS_TIMEOUTS.step('charge'), 'charge', 2200);
    const inputs: Input[] = [requested, reserved(), insured(), timedOut];
    spec.given(...inputs.slice(0, 3)).when(timedOut).then(({ sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.Refund as never));
      expect(state.reason).toBe('charge did not answer within 2000 ms');
      expect(step(state, 'charge')).toMatchObject({ status: 'timed-out', timedOutAt: at(2200), compensation: { status: 'sent', sentAt: at(2200) } });
    });
    const refunded = msg(Booking.Refunded as never, 2300);
    const insuranceCancelled = msg(Booking.InsuranceCancelled as never, 2400);
    expect(spec.given(...inputs).when(refunded).outcome.sentTypes).toEqual(typesOf(Booking.CancelInsurance as never));
    expect(spec.given(...inputs, refunded).when(insuranceCancelled).outcome.sentTypes).toEqual(typesOf(Booking.CancelRoom as never));
    spec.given(...inputs, refunded, insuranceCancelled).when(msg(Booking.RoomCancelled as never, 2500)).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.TellFailure as never));
      // The charge's answer may still come: the instance listens for it instead of ending.
      expect(decision.end).toBeUndefined();
      expect(decision.schedule).toEqual([{ name: 'late-answers', afterMs: 60_000, data: { dueAt: at(62_500) } }]);
      expect(state.phase).toBe('compensated');
    });
  });

  describe('an answer that comes after its step timed out', () => {
    const compensatedAfterTimeout: Input[] = [
      requested,
      reserved(),
      insured(),
      fired(PROCESS_TIMEOUTS.step('charge'), 'charge', 2200),
      msg(Booking.Refunded as never, 2300),
      msg(Booking.InsuranceCancelled as never, 2400),
      msg(Booking.RoomCancelled as never, 2500),
    ];

    it('a late success is compensated again (its compensation may have come first), never continued; then the instance ends', () => {
      const late = charged(5000);
      spec.given(...compensatedAfterTimeout).when(late).then(({ decision, sentTypes, state }) => {
        expect(sentTypes).toEqual(typesOf(Booking.Refund as never));
        expect(decision.schedule?.map((t) => t.name)).toEqual(['compensation:charge']);
        expect(decision.end).toBeUndefined();
        expect(step(state, 'charge')).toMatchObject({ status: 'done', late: true, answeredAt: at(5000), compensation: { status: 'sent', rounds: 2, sentAt: at(5000) } });
        expect(state.phase).toBe('compensated');
      });
      spec.given(...compensatedAfterTimeout, late).when(msg(Booking.Refunded as never, 5100)).then(({ decision, sentTypes }) => {
        // The failure was told once already; nothing more is sent, and the instance ends.
        expect(sentTypes).toEqual([]);
        expect(decision.end).toBe('compensated');
      });
    });

    it('a late success that comes while the compensations still run is compensated after the one in flight', () => {
      const [start, room, insurance, timeout, refunded] = compensatedAfterTimeout;
      const late = charged(2250);
      spec.given(start, room, insurance, timeout, late).when(refunded).then(({ sentTypes, state }) => {
        // The refund in flight was acknowledged, but it may have come before the charge: once more.
        expect(sentTypes).toEqual(typesOf(Booking.Refund as never));
        expect(step(state, 'charge').compensation).toMatchObject({ status: 'sent', rounds: 2 });
      });
    });

    it('a late refusal needs nothing undone: the instance ends', () => {
      spec.given(...compensatedAfterTimeout).when(msg(Booking.ChargeRefused as never, 5000, { reason: 'late no' })).then(({ decision, sentTypes, state }) => {
        expect(sentTypes).toEqual([]);
        expect(decision.end).toBe('compensated');
        expect(step(state, 'charge')).toMatchObject({ status: 'refused', late: true });
      });
    });

    it('when no answer comes within the late-answer window, the instance ends as compensated', () => {
      spec.given(...compensatedAfterTimeout).when({ kind: 'timeout', name: 'late-answers', data: { dueAt: at(62_500) } }).then(({ decision }) => {
        expect(decision).toEqual({ end: 'compensated' });
      });
    });
  });

  it('sends a compensation again on its own timeout, up to its attempts, then gives up on it, goes on with the others and ends failed', () => {
    const refused = msg(Booking.InsuranceRefused as never, 200, { reason: 'too risky' });
    const base: Input[] = [requested, reserved(), refused];
    const first = fired(PROCESS_TIMEOUTS.compensation('room'), 'room', 700);
    spec.given(...base).when(first).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.CancelRoom as never));
      expect(decision.schedule).toEqual([{ name: 'compensation:room', afterMs: 500, data: { step: 'room', dueAt: at(1200) } }]);
      expect(step(state, 'room').compensation).toMatchObject({ status: 'sent', attempts: 2 });
    });
    const second = fired(PROCESS_TIMEOUTS.compensation('room'), 'room', 1200);
    expect(spec.given(...base, first).when(second).outcome.state.steps[1].compensation).toMatchObject({ attempts: 3 });
    spec.given(...base, first, second).when(fired(PROCESS_TIMEOUTS.compensation('room'), 'room', 1700)).then(({ decision, sentTypes, state }) => {
      expect(sentTypes).toEqual(typesOf(Booking.TellFailure as never));
      expect(decision.end).toBe('failed');
      expect(state).toMatchObject({ phase: 'failed', reason: 'insurance refused: too risky' });
      expect(step(state, 'room').compensation).toMatchObject({ status: 'gave-up', attempts: 3 });
    });
  });

  describe('messages in any order', () => {
    it('keeps an answer that comes before its step was sent and uses it when the step is sent', () => {
      const early = insured(50);
      spec.given(requested).when(early).then(({ decision, state }) => {
        expect(decision).toEqual({});
        expect(state.early).toEqual([{ step: 'insurance', answer: { outcome: 'done' }, at: at(50) }]);
      });
      spec.given(requested, early).when(reserved()).then(({ decision, sentTypes, state }) => {
        expect(sentTypes).toEqual(typesOf(Booking.Insure as never, Booking.Charge as never));
        // Net effect on the timeouts: the insurance's, scheduled and answered in one input, is never written.
        expect(decision.schedule?.map((t) => t.name)).toEqual(['step:charge']);
        expect(decision.cancel).toEqual(['step:room', 'step:insurance']);
        expect(state.early).toEqual([]);
        expect(step(state, 'insurance').status).toBe('done');
      });
    });

    it('ends completed, each command sent once, whatever the order of the answers', () => {
      const answers = [reserved(), insured(), charged()];
      for (const order of permutations(answers)) {
        const sent: string[] = [];
        let state = saga.initialState(bookingId);
        for (const input of [requested, ...order]) {
          sent.push(...(saga.decide(state, input).send ?? []).map((s) => s.event.contract.type));
          state = saga.evolve(state, input);
        }
        expect(state.phase).toBe('completed');
        expect(sent).toEqual(typesOf(Booking.ReserveRoom as never, Booking.Insure as never, Booking.Charge as never, Booking.Confirm as never));
      }
    });

    it('ignores duplicates, stale timeouts, acknowledgements nobody awaits, and a second start', () => {
      const running: Input[] = [requested, reserved()];
      expect(spec.given(...running).when(reserved(150)).outcome.decision).toEqual({});
      expect(spec.given(...running).when(fired(PROCESS_TIMEOUTS.step('room'), 'room', 1000)).outcome.decision).toEqual({});
      expect(spec.given(...running).when(msg(Booking.RoomCancelled as never, 160)).outcome.decision).toEqual({});
      expect(spec.given(...running).when(msg(Booking.Requested as never, 170)).outcome.decision).toEqual({});
      expect(spec.given(...running).when(reserved(150)).outcome.state).toEqual(spec.given(requested).when(reserved()).outcome.state);
    });
  });

  it('refuses a definition that would hang: a command without a timeout or without an answer', () => {
    const base = { start: () => ({}) };
    const command = () => ({ event: Booking.Confirm, payload: { bookingId } });
    expect(() => compensatingProcess({ ...base, steps: [{ name: 'a', command, answer: () => undefined }] })).toThrow(/needs a timeoutMs/);
    expect(() => compensatingProcess({ ...base, steps: [{ name: 'a', command, timeoutMs: 5 }] })).toThrow(/needs to know its answer/);
    expect(() => compensatingProcess({ ...base, steps: [{ name: 'a' }, { name: 'a' }] })).toThrow(/distinct names/);
  });
});

describe('reading a process state: where it stands, and which compensations an input got acknowledged (for views and metrics)', () => {
  const fold = (inputs: readonly Input[]) => inputs.reduce((state, input) => saga.evolve(state, input), saga.initialState(bookingId));
  const refused = msg(Booking.ChargeRefused as never, 300, { reason: 'card declined' });
  const timedOut = fired(PROCESS_TIMEOUTS.step('charge'), 'charge', 2200);

  it('names the step awaited while running, the compensation awaited while compensating, and none once ended', () => {
    expect(currentProcessStep(fold([requested]))).toBe('room');
    expect(currentProcessStep(fold([requested, reserved(), insured()]))).toBe('charge');
    expect(currentProcessStep(fold([requested, reserved(), insured(), refused]))).toBe('undo insurance');
    expect(currentProcessStep(fold([requested, reserved(), insured(), refused, msg(Booking.InsuranceCancelled as never, 400)]))).toBe('undo room');
    expect(currentProcessStep(fold([requested, reserved(), insured(), charged()]))).toBeNull();
    expect(isProcessState(fold([requested]))).toBe(true);
    expect(isProcessState({ created: true })).toBe(false);
    expect(isProcessState(null)).toBe(false);
  });

  it('counts each acknowledged round once: an acknowledgement, a second round after a late success, and nothing for other inputs', () => {
    const inputs: Input[] = [requested, reserved(), insured(), timedOut, msg(Booking.Refunded as never, 2300), msg(Booking.InsuranceCancelled as never, 2400), msg(Booking.RoomCancelled as never, 2500)];
    const acknowledgedBy = inputs.map((input, i) => compensationsAcknowledged(fold(inputs.slice(0, i)), fold(inputs.slice(0, i + 1))));
    expect(acknowledgedBy).toEqual([[], [], [], [], ['charge'], ['insurance'], ['room']]);
    // A late success: refunded again, and that second round counted when acknowledged.
    const late = [...inputs, charged(5000)];
    expect(compensationsAcknowledged(fold(inputs), fold(late))).toEqual([]);
    expect(compensationsAcknowledged(fold(late), fold([...late, msg(Booking.Refunded as never, 5100)]))).toEqual(['charge']);
    expect(step(fold([...late, msg(Booking.Refunded as never, 5100)]), 'charge').compensation).toMatchObject({ rounds: 2, acknowledgements: 2 });
    // A duplicate acknowledgement changes nothing.
    expect(compensationsAcknowledged(fold(inputs), fold([...inputs, msg(Booking.RoomCancelled as never, 2600)]))).toEqual([]);
  });

  it('reads a compensation stored before acknowledgements were counted as none', () => {
    const stored = fold([requested, reserved(), insured(), refused]);
    const withoutCount = { ...stored, steps: stored.steps.map((s) => (s.compensation ? { ...s, compensation: { ...s.compensation, acknowledgements: undefined as never } } : s)) };
    expect(compensationsAcknowledged(withoutCount, saga.evolve(withoutCount, msg(Booking.InsuranceCancelled as never, 400)))).toEqual(['insurance']);
  });
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}
