import type { EventClass } from '@platform/contracts';
import type { EnvelopeOf } from '../consumer/use-case';
import type { PendingEvent } from '../outbox/publisher';
import type { SagaDecision, SagaInput, SagaJson } from './saga';
import { DecisionBuilder } from './decision-builder';

/** What a step's answer says: it did its part (with what it did), or it refused (and why). */
export type StepAnswer = { readonly outcome: 'done'; readonly result?: SagaJson } | { readonly outcome: 'refused'; readonly reason: string };

/** How to undo a step that changed another service: a command, acknowledged by an answer. */
export interface ProcessCompensation<D, E extends readonly EventClass[]> {
  /** `result` is what the step's answer said it did (null when no answer came). */
  command(data: D, result: SagaJson): PendingEvent;
  acknowledges(message: EnvelopeOf<E>): boolean;
  /** Sent again when no acknowledgement comes within this, up to `maxAttempts` times in all. */
  readonly timeoutMs: number;
  readonly maxAttempts?: number;
}

export interface ProcessStep<D, E extends readonly EventClass[]> {
  readonly name: string;
  /** The command that does the step. Absent: the starting message already did it (in the transaction that started the process). */
  command?(data: D): PendingEvent;
  /** How long the step's answer may take; then the process compensates. Required with `command`. */
  readonly timeoutMs?: number;
  /** What a message means for this step: its answer, or undefined when it is not about it. */
  answer?(message: EnvelopeOf<E>): StepAnswer | undefined;
  /** Every step that changes another service declares how to undo it. */
  readonly compensation?: ProcessCompensation<D, E>;
}

/**
 * A process of steps done one after the other, each undone by its compensation when a later
 * one fails. `compensatingProcess(definition)` turns it into a saga's pure `initialState`,
 * `decide` and `evolve` over a standard state (`ProcessState`), so the library runs it like
 * any saga and `sagaSpecification` tests it.
 */
export interface ProcessDefinition<D extends SagaJson, E extends readonly EventClass[]> {
  /** The process's data, from the message that starts it (undefined: this message does not start it). */
  start(message: EnvelopeOf<E>): D | undefined;
  readonly steps: readonly ProcessStep<D, E>[];
  /** Sent when every step is done; nothing is compensated after this (e.g. a goodbye message). */
  onCompleted?(data: D): readonly PendingEvent[];
  /** Sent once the compensations ran, with why the process failed (e.g. a failure notice). */
  onCompensated?(data: D, reason: string): readonly PendingEvent[];
  /**
   * After compensating, how long the instance keeps listening for the answer of a step that
   * timed out, to undo a late success (default one hour). Then it ends.
   */
  readonly lateAnswerWindowMs?: number;
}

export type ProcessPhase = 'new' | 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';
export type StepStatus = 'pending' | 'sent' | 'done' | 'refused' | 'timed-out';
export type CompensationStatus = 'due' | 'sent' | 'acknowledged' | 'gave-up';

export interface CompensationRecord {
  readonly [key: string]: SagaJson;
  readonly status: CompensationStatus;
  /** Sends of the current round. */
  readonly attempts: number;
  /** Rounds: a late success of the step starts another one. */
  readonly rounds: number;
  /** A late success came while this round was in flight: another round follows its acknowledgement. */
  readonly again: boolean;
  /** Rounds acknowledged so far (states stored before it was kept lack it: read through `acknowledgements()`). */
  readonly acknowledgements: number;
  readonly sentAt: string | null;
  readonly acknowledgedAt: string | null;
}

export interface StepRecord {
  readonly [key: string]: SagaJson;
  readonly name: string;
  readonly status: StepStatus;
  readonly sentAt: string | null;
  readonly answeredAt: string | null;
  readonly timedOutAt: string | null;
  /** Answered after its timeout, when the process was already compensating. */
  readonly late: boolean;
  readonly result: SagaJson;
  readonly reason: string | null;
  readonly compensation: CompensationRecord | null;
}

export interface ProcessState<D extends SagaJson = SagaJson> {
  readonly [key: string]: SagaJson;
  readonly phase: ProcessPhase;
  readonly data: D | null;
  /** Why the process compensated. */
  readonly reason: string | null;
  readonly steps: readonly StepRecord[];
  /** Answers that came before their step was sent, used when it is. */
  readonly early: readonly { readonly step: string; readonly answer: SagaJson; readonly at: string | null }[];
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export interface ProcessLogic<D extends SagaJson, E extends readonly EventClass[]> {
  initialState(key: string): ProcessState<D>;
  decide(state: ProcessState<D>, input: SagaInput<E>): SagaDecision;
  evolve(state: ProcessState<D>, input: SagaInput<E>): ProcessState<D>;
}

/** Timeout names: one per step, one per compensation, and the late-answer window. */
export const PROCESS_TIMEOUTS = {
  step: (name: string) => `step:${name}`,
  compensation: (name: string) => `compensation:${name}`,
  lateAnswers: 'late-answers',
} as const;

const DEFAULT_COMPENSATION_ATTEMPTS = 5;
const DEFAULT_LATE_ANSWER_WINDOW_MS = 60 * 60 * 1000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type WorkingStep = Mutable<StepRecord>;
interface WorkingState<D extends SagaJson> {
  phase: ProcessPhase;
  data: D | null;
  reason: string | null;
  steps: WorkingStep[];
  early: { step: string; answer: SagaJson; at: string | null }[];
  startedAt: string | null;
  endedAt: string | null;
}

/**
 * Rules: steps run in order, one at a time. A refusal, or no answer within the step's timeout,
 * starts the compensations: the timed-out step's own first (its effect is unknown, so it is
 * undone anyway: compensations must accept "nothing to undo"), then those of the done steps,
 * latest first, one at a time, each sent again on its own timeout up to its attempts. When they
 * are acknowledged (or given up: the process then ends `failed`), `onCompensated` is sent. An
 * answer that comes after its step timed out is late: a late success is compensated again
 * (never continued), a late refusal needs nothing. A duplicate answer, or an acknowledgement
 * when none is awaited, changes nothing; an answer for a step not sent yet is kept until it is.
 *
 * Times in the state come from the inputs (a message's `time`, a timeout's due time), so the
 * logic stays pure and replays the same.
 */
export function compensatingProcess<D extends SagaJson, E extends readonly EventClass[]>(definition: ProcessDefinition<D, E>): ProcessLogic<D, E> {
  const names = definition.steps.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`a process's steps need distinct names (got ${names.join(', ')})`);
  for (const step of definition.steps) {
    if (step.command && !(step.timeoutMs && step.timeoutMs > 0)) throw new Error(`process step ${step.name} sends a command and needs a timeoutMs`);
    if (step.command && !step.answer) throw new Error(`process step ${step.name} sends a command and needs to know its answer`);
  }
  const transition = (state: ProcessState<D>, input: SagaInput<E>) => new Transition(definition, state, input).run();
  return {
    initialState: () => ({
      phase: 'new',
      data: null,
      reason: null,
      steps: definition.steps.map((s) => ({ name: s.name, status: 'pending', sentAt: null, answeredAt: null, timedOutAt: null, late: false, result: null, reason: null, compensation: null })),
      early: [],
      startedAt: null,
      endedAt: null,
    }),
    decide: (state, input) => transition(state, input).decision,
    evolve: (state, input) => transition(state, input).state,
  };
}

/** One input applied to a copy of the state, collecting the decision as it goes. */
class Transition<D extends SagaJson, E extends readonly EventClass[]> {
  private readonly state: WorkingState<D>;
  private readonly out = new DecisionBuilder();
  private readonly at: string | null;

  constructor(
    private readonly definition: ProcessDefinition<D, E>,
    state: ProcessState<D>,
    private readonly input: SagaInput<E>,
  ) {
    this.state = JSON.parse(JSON.stringify(state)) as WorkingState<D>;
    this.at = input.kind === 'message' ? input.message.time : (((input.data as { dueAt?: string } | null)?.dueAt ?? null) as string | null);
  }

  run(): { state: ProcessState<D>; decision: SagaDecision } {
    if (this.input.kind === 'message') this.message(this.input.message);
    else this.timeout(this.input.name);
    return { state: this.state as unknown as ProcessState<D>, decision: this.out.build() };
  }

  private message(message: EnvelopeOf<E>): void {
    if (this.state.phase === 'new') {
      const data = this.definition.start(message);
      if (data !== undefined) return this.start(data);
    }
    for (const [i, step] of this.definition.steps.entries()) {
      const answer = step.answer?.(message);
      if (answer) return this.answered(i, answer);
    }
    const acknowledged = this.definition.steps.findIndex((s) => s.compensation?.acknowledges(message));
    if (acknowledged >= 0) this.acknowledged(acknowledged);
  }

  private timeout(name: string): void {
    if (name === PROCESS_TIMEOUTS.lateAnswers) return this.end();
    const i = this.definition.steps.findIndex((s) => PROCESS_TIMEOUTS.step(s.name) === name);
    if (i >= 0) return this.stepTimedOut(i);
    const c = this.definition.steps.findIndex((s) => PROCESS_TIMEOUTS.compensation(s.name) === name);
    if (c >= 0) this.compensationTimedOut(c);
  }

  private start(data: D): void {
    Object.assign(this.state, { data, phase: 'running', startedAt: this.at });
    this.definition.steps.forEach((step, i) => {
      if (!step.command) Object.assign(this.state.steps[i], { status: 'done', sentAt: this.at, answeredAt: this.at });
    });
    this.advance();
  }

  /** Sends the next pending step, or completes. */
  private advance(): void {
    const next = this.state.steps.findIndex((s) => s.status === 'pending');
    if (next < 0) return this.complete();
    const step = this.definition.steps[next];
    // Only steps with a command are pending after the start; the definition was checked for a timeout.
    if (!step.command) throw new Error(`process step ${step.name} has no command but was not done at the start`);
    this.out.send(step.command(this.data));
    Object.assign(this.state.steps[next], { status: 'sent', sentAt: this.at });
    this.schedule(PROCESS_TIMEOUTS.step(step.name), step.timeoutMs ?? 0, { step: step.name });
    const early = this.state.early.findIndex((e) => e.step === step.name);
    if (early >= 0) {
      const [kept] = this.state.early.splice(early, 1);
      this.answered(next, kept.answer as StepAnswer);
    }
  }

  private complete(): void {
    Object.assign(this.state, { phase: 'completed', endedAt: this.at });
    this.out.send(...(this.definition.onCompleted?.(this.data) ?? []));
    this.out.end('completed');
  }

  private answered(i: number, answer: StepAnswer): void {
    const record = this.state.steps[i];
    const name = this.definition.steps[i].name;
    if (record.status === 'pending') {
      if (this.state.phase === 'new' || this.state.phase === 'running') this.state.early.push({ step: name, answer: answer as SagaJson, at: this.at });
      return;
    }
    if (record.status === 'sent') {
      this.out.cancel(PROCESS_TIMEOUTS.step(name));
      Object.assign(record, { answeredAt: this.at, ...this.outcome(answer) });
      if (answer.outcome === 'done') return this.advance();
      return this.compensate(`${name} refused: ${answer.reason}`);
    }
    if (record.status !== 'timed-out') return; // a duplicate: its step was answered already
    Object.assign(record, { answeredAt: this.at, late: true, ...this.outcome(answer) });
    // A late success is undone, never continued: the compensation already sent may have reached
    // the other service before the step did, so it is sent once more after the success.
    if (answer.outcome === 'done' && record.compensation) {
      const inFlight = record.compensation.status === 'sent';
      record.compensation = { ...record.compensation, ...(inFlight ? { again: true } : { status: 'due' }) };
    }
    this.compensateNext();
  }

  private outcome(answer: StepAnswer): Partial<WorkingStep> {
    return answer.outcome === 'done' ? { status: 'done', result: answer.result ?? null } : { status: 'refused', reason: answer.reason };
  }

  private stepTimedOut(i: number): void {
    const record = this.state.steps[i];
    if (record.status !== 'sent') return;
    const step = this.definition.steps[i];
    Object.assign(record, { status: 'timed-out', timedOutAt: this.at });
    this.compensate(`${step.name} did not answer within ${step.timeoutMs} ms`);
  }

  private compensate(reason: string): void {
    Object.assign(this.state, { phase: 'compensating', reason });
    this.compensateNext();
  }

  /** One compensation at a time, the latest step's first; then the process is compensated. */
  private compensateNext(): void {
    if (this.state.phase === 'running' || this.state.phase === 'new') return;
    if (this.state.steps.some((s) => s.compensation?.status === 'sent')) return;
    for (let i = this.state.steps.length - 1; i >= 0; i--) {
      const record = this.state.steps[i];
      const compensation = this.definition.steps[i].compensation;
      const undo = record.status === 'done' || record.status === 'timed-out';
      if (!compensation || !undo || (record.compensation && record.compensation.status !== 'due')) continue;
      record.compensation = {
        status: 'sent',
        attempts: 1,
        rounds: (record.compensation?.rounds ?? 0) + 1,
        again: false,
        acknowledgements: acknowledgements(record.compensation),
        sentAt: this.at,
        acknowledgedAt: null,
      };
      this.out.send(compensation.command(this.data, record.result));
      this.schedule(PROCESS_TIMEOUTS.compensation(record.name), compensation.timeoutMs, { step: record.name });
      return;
    }
    this.compensated();
  }

  private acknowledged(i: number): void {
    const record = this.state.steps[i];
    if (record.compensation?.status !== 'sent') return;
    record.compensation = {
      ...record.compensation,
      status: record.compensation.again ? 'due' : 'acknowledged',
      again: false,
      acknowledgements: acknowledgements(record.compensation) + 1,
      acknowledgedAt: this.at,
    };
    this.out.cancel(PROCESS_TIMEOUTS.compensation(record.name));
    this.compensateNext();
  }

  private compensationTimedOut(i: number): void {
    const record = this.state.steps[i];
    const compensation = this.definition.steps[i].compensation;
    if (!compensation || record.compensation?.status !== 'sent') return;
    if (record.compensation.attempts < (compensation.maxAttempts ?? DEFAULT_COMPENSATION_ATTEMPTS)) {
      record.compensation = { ...record.compensation, attempts: record.compensation.attempts + 1, sentAt: this.at };
      this.out.send(compensation.command(this.data, record.result));
      this.schedule(PROCESS_TIMEOUTS.compensation(record.name), compensation.timeoutMs, { step: record.name });
      return;
    }
    record.compensation = { ...record.compensation, status: 'gave-up' };
    this.compensateNext();
  }

  /** Every compensation settled: say so once, then end, or wait for the answers still missing. */
  private compensated(): void {
    if (this.state.phase === 'compensating') {
      const gaveUp = this.state.steps.some((s) => s.compensation?.status === 'gave-up');
      Object.assign(this.state, { phase: gaveUp ? 'failed' : 'compensated', endedAt: this.at });
      this.out.send(...(this.definition.onCompensated?.(this.data, this.state.reason ?? 'unknown') ?? []));
      if (this.state.steps.some((s) => s.status === 'timed-out')) {
        this.schedule(PROCESS_TIMEOUTS.lateAnswers, this.definition.lateAnswerWindowMs ?? DEFAULT_LATE_ANSWER_WINDOW_MS, {});
        return;
      }
    }
    if (!this.state.steps.some((s) => s.status === 'timed-out')) this.end();
  }

  private end(): void {
    if (this.state.phase === 'compensated' || this.state.phase === 'failed') this.out.end(this.state.phase);
  }

  private schedule(name: string, afterMs: number, data: { [key: string]: SagaJson }): void {
    const dueAt = this.at === null ? null : new Date(Date.parse(this.at) + afterMs).toISOString();
    this.out.schedule({ name, afterMs, data: { ...data, dueAt } });
  }

  private get data(): D {
    return this.state.data as D;
  }
}

/** Whether a saga's state is a compensating process's (the library's views and metrics read its steps). */
export function isProcessState(state: unknown): state is ProcessState {
  const s = state as Partial<ProcessState> | null;
  return typeof s === 'object' && s !== null && typeof s.phase === 'string' && Array.isArray(s.steps);
}

/** The steps whose compensation an input got acknowledged, from the states before and after it. */
export function compensationsAcknowledged(before: ProcessState, after: ProcessState): string[] {
  const acknowledged = new Map(before.steps.map((s) => [s.name, acknowledgements(s.compensation)]));
  return after.steps.filter((s) => acknowledgements(s.compensation) > (acknowledged.get(s.name) ?? 0)).map((s) => s.name);
}

/** A compensation's acknowledged rounds; 0 for none, and for a record stored before they were counted. */
function acknowledgements(record: CompensationRecord | null): number {
  const stored = (record as { acknowledgements?: number } | null)?.acknowledgements;
  return typeof stored === 'number' ? stored : 0;
}

/**
 * Where a process stands, in a word for lists: the step sent and awaited while running, the
 * compensation sent and awaited while compensating (`undo <step>`), nothing once it ended.
 */
export function currentProcessStep(state: ProcessState): string | null {
  if (state.phase === 'running') return state.steps.find((s) => s.status === 'sent')?.name ?? null;
  if (state.phase === 'compensating') {
    const undoing = state.steps.find((s) => s.compensation?.status === 'sent' || s.compensation?.status === 'due');
    return undoing ? `undo ${undoing.name}` : null;
  }
  return null;
}
