import type { ReadableEvents } from '@platform/contracts';
import type { Logger, SqlClient } from '@platform/core';
import { reviveEnvelope, useCaseEvents } from '../consumer/use-case-events';
import type { EventMetadata, ReceivedEnvelope } from '../envelope/envelope';
import type { OutboxPublisher } from '../outbox/publisher';
import { compensationsAcknowledged, isProcessState } from './compensating-process';
import type { Saga, SagaDecision, SagaInput, SagaJson } from './saga';
import { appendHistory, cancelTimeouts, lockInstance, lockOrCreateInstance, saveInstance, scheduleTimeouts, type SagaInstanceRow } from './saga-store';

/** The library's own timeout of a waiting instance: its early messages are given up on. */
export const EARLY_MESSAGES_EXPIRY = '$early-messages-expire';
const DEFAULT_EARLY_TTL_MS = 60 * 60 * 1000;

export interface SagaStepContext {
  readonly tx: SqlClient;
  /** The saga's consumer group: the instances' namespace in the tables. */
  readonly group: string;
  readonly saga: Saga;
  readonly publisher: OutboxPublisher;
  readonly logger: Logger;
  /** Due times of timeouts scheduled by this step, for the firer's timer once the transaction commits. */
  readonly scheduled: number[];
  /** Steps whose compensation this step got acknowledged (a compensating process's), counted once it commits. */
  readonly compensated?: string[];
}

export type StoredMessage = Omit<ReceivedEnvelope, 'event' | 'payload'> & { payload: SagaJson };

/** What a step did, for tests and logs. */
export type StepResult = 'started' | 'applied' | 'kept-early' | 'ignored-ended' | 'ignored-missing' | 'abandoned';

const summary = (input: SagaInput): SagaJson =>
  input.kind === 'message' ? { kind: 'message', type: input.message.event.contract.type, id: input.message.id } : { kind: 'timeout', name: input.name };

const decisionSummary = (decision: SagaDecision): SagaJson => ({
  send: (decision.send ?? []).map((s) => s.event.contract.type),
  schedule: (decision.schedule ?? []).map((t) => ({ name: t.name, afterMs: t.afterMs })),
  cancel: [...(decision.cancel ?? [])],
  end: decision.end ?? null,
});

/** A message of the saga, in the instance's transaction: starts it, is kept until it starts, or is applied. */
export async function applyMessage(context: SagaStepContext, message: ReceivedEnvelope): Promise<StepResult> {
  const { tx, group, saga } = context;
  const key = saga.correlate(message as never);
  const row = await lockOrCreateInstance(tx, group, key);
  const starts = saga.startedBy.includes(message.event);
  if (row.status === 'waiting' && !starts) {
    const early = [...row.early, storable(message)];
    await saveInstance(tx, group, key, { ...row, early }, false);
    if (row.early.length === 0) await scheduleInternal(context, key, EARLY_MESSAGES_EXPIRY, saga.earlyMessageTtlMs ?? DEFAULT_EARLY_TTL_MS);
    return 'kept-early';
  }
  if (row.status !== 'waiting' && row.status !== 'active') {
    context.logger.info('message for an ended saga instance recorded and ignored', { group, key, status: row.status, type: message.type, eventId: message.id });
    await appendHistory(tx, group, key, row.version + 1, { ...(summary({ kind: 'message', message }) as object), ignored: row.status }, {});
    await saveInstance(tx, group, key, { ...row, version: row.version + 1 }, false);
    return 'ignored-ended';
  }
  let instance: SagaInstanceRow = row;
  const early = row.status === 'waiting' ? row.early : [];
  if (row.status === 'waiting') {
    instance = { status: 'active', state: saga.initialState(key), early: [], correlationId: message.correlationId, version: row.version };
    await cancelTimeouts(tx, group, key, [EARLY_MESSAGES_EXPIRY]);
  }
  instance = await run(context, key, instance, { kind: 'message', message }, causedBy(message));
  // Messages that came before the instance existed, in the order they came, now that it does.
  for (const stored of early) {
    if (instance.status !== 'active') break;
    const revived = reviveKeptMessage(saga, stored as StoredMessage);
    // Kept from an earlier handling: what it causes goes on in its own trace.
    instance = await run(context, key, instance, { kind: 'message', message: revived }, { ...causedBy(revived), traceparent: revived.traceparent });
  }
  await saveInstance(tx, group, key, instance, instance.status !== 'active');
  return row.status === 'waiting' ? 'started' : 'applied';
}

/** A due timeout of an instance, in its transaction (the instance is locked by the caller). */
export async function applyTimeout(context: SagaStepContext, key: string, row: SagaInstanceRow | undefined, name: string, data: SagaJson): Promise<StepResult> {
  const { tx, group } = context;
  if (!row) return 'ignored-missing';
  if (name === EARLY_MESSAGES_EXPIRY) {
    if (row.status !== 'waiting') return 'ignored-ended';
    context.logger.warn('no message started the saga instance in time; its early messages are dropped', { group, key, dropped: row.early.length });
    await appendHistory(tx, group, key, row.version + 1, { kind: 'timeout', name }, { dropped: row.early.length });
    await saveInstance(tx, group, key, { ...row, status: 'abandoned', version: row.version + 1 }, true);
    return 'abandoned';
  }
  if (row.status !== 'active') return 'ignored-ended';
  const instance = await run(context, key, row, { kind: 'timeout', name, data }, { correlationId: row.correlationId ?? undefined });
  await saveInstance(tx, group, key, instance, instance.status !== 'active');
  return 'applied';
}

export { lockInstance };

/** decide, then evolve; what was decided is written in the same transaction. */
async function run(context: SagaStepContext, key: string, instance: SagaInstanceRow, input: SagaInput, metadata: EventMetadata): Promise<SagaInstanceRow> {
  const { tx, group, saga, publisher } = context;
  const state = instance.state as never;
  const decision = saga.decide(state, input);
  const next = saga.evolve(state, input);
  const version = instance.version + 1;
  if (context.compensated && isProcessState(state) && isProcessState(next)) context.compensated.push(...compensationsAcknowledged(state, next));
  if (decision.send && decision.send.length > 0) {
    await publisher.publishAll(tx, decision.send.map((s) => ({ ...s, metadata: { ...metadata, ...s.metadata } })));
  }
  if (decision.end) {
    await cancelTimeouts(tx, group, key);
  } else {
    await cancelTimeouts(tx, group, key, decision.cancel ?? []);
    const now = Date.now();
    const timeouts = (decision.schedule ?? []).map((t) => ({ name: t.name, dueAtMs: now + t.afterMs, data: t.data ?? null }));
    await scheduleTimeouts(tx, group, key, timeouts);
    context.scheduled.push(...timeouts.map((t) => t.dueAtMs));
  }
  await appendHistory(tx, group, key, version, summary(input), decisionSummary(decision));
  return { ...instance, state: next, version, status: decision.end ?? 'active' };
}

async function scheduleInternal(context: SagaStepContext, key: string, name: string, afterMs: number): Promise<void> {
  const dueAtMs = Date.now() + afterMs;
  await scheduleTimeouts(context.tx, context.group, key, [{ name, dueAtMs, data: null }]);
  context.scheduled.push(dueAtMs);
}

/**
 * Caused by `message`, in its conversation. No trace given: the publisher takes that of the
 * handling in progress (its process span's, or the message's own when no span is recorded).
 */
function causedBy(message: ReceivedEnvelope): EventMetadata {
  return { correlationId: message.correlationId, causationId: message.id };
}

function storable(message: ReceivedEnvelope): SagaJson {
  const { event: _event, ...rest } = message;
  return JSON.parse(JSON.stringify(rest)) as SagaJson;
}

const readableBySaga = new WeakMap<object, ReadableEvents>();

/**
 * Kept messages were validated (and upcast) when they arrived, as the version the saga declared
 * then. One kept by an instance of an older deploy, as a version the saga now reads only as an
 * older one, reaches it upcast, as from Kafka.
 */
export function reviveKeptMessage(saga: Pick<Saga, 'name' | 'events'>, stored: StoredMessage): ReceivedEnvelope {
  let events = readableBySaga.get(saga);
  if (!events) readableBySaga.set(saga, (events = useCaseEvents(saga)));
  return reviveEnvelope(events, stored, `saga ${saga.name}`);
}
