import { classifyFailure, errorFields, sleep, withTransaction, type SqlClient } from '@platform/core';
import type { BrokerAdmin, IncomingMessage, PartitionBatch } from '../kafka/broker';
import { AfterCommit } from '../consumer/after-commit';
import type { DeadLetterFailure } from '../consumer/dead-letters';
import { failureVerdict, isRetryLater } from '../consumer/failure-verdict';
import { withinDeadline, type ConsumerRuntime, type Handling } from '../consumer/handling';
import { recordInInbox } from '../consumer/inbox';
import { OffsetTracker } from '../consumer/offset-tracker';
import { StallWatch } from '../consumer/stall-watch';
import { backoffMs } from '../consumer/retry-policy';
import type { EnvelopeOf } from '../consumer/use-case';
import type { Broker } from '../kafka/broker';
import { Coalescer } from './coalescer';
import { WindowCloser } from './window-closer';
import { closeAt, validateWindowSpec, windowsFor, type WindowSpec } from './window-spec';
import { closedAmong, saveWatermarks, stageEvents, windowIdString, type StagedEvent, type StagingResult, type WindowId } from './window-store';
import type { WindowedUseCase } from './windowed-use-case';

export interface WindowHandlingOptions {
  readonly broker: Broker;
  /** How often this member publishes its partitions' watermarks. */
  readonly watermarkIntervalMs?: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly tracker: OffsetTracker;
  lastCommitted?: string;
  /** Next offset to take: everything before it is staged. */
  position?: bigint;
  /** Latest event time (or arrival, for processing time) staged from this partition. */
  maxTime?: number;
  /** When a batch reaching the log end was fetched: nothing produced before then is unread. */
  caughtUpAt?: number;
}

interface StagingRequest {
  readonly state: PartitionState;
  readonly events: (StagedEvent & { message: IncomingMessage })[];
  readonly watermark: number;
}

interface StagingAnswer {
  readonly result: StagingResult;
  /** The request's events whose window was already handled, for the dead-letter topic. */
  readonly lateForDeadLetter: IncomingMessage[];
}

/** One watermark per partition, the latest, however many of its batches are in the transaction. */
function latestPerPartition(requests: readonly StagingRequest[]): { topic: string; partition: number; watermark: number }[] {
  const marks = new Map<string, { topic: string; partition: number; watermark: number }>();
  for (const { state, watermark } of requests) {
    const id = `${state.topic}:${state.partition}`;
    if ((marks.get(id)?.watermark ?? -Infinity) < watermark) marks.set(id, { topic: state.topic, partition: state.partition, watermark });
  }
  return [...marks.values()];
}

/** A partition whose commit point has not moved for this long while events wait is reported. */
export const STALL_REPORT_MS = 60_000;

/** How often a processing-time event is moved on to the current window before it counts as late. */
const PROCESSING_TIME_RESTAGES = 5;

/**
 * Handling in windows, inside the consumer runtime. Each fetched batch is staged, in one
 * transaction, into the windows its events fall in (durably, de-duplicated by event id); the
 * WindowCloser handles each (key, window) once when it closes. A message's offset is
 * committed only after every window holding it has been handled, so after kill -9 the
 * replay finds the events staged and the windows either still open or handled: no event is
 * lost, none counted twice, no window handled twice. Events for already handled windows are
 * late and go where the use case says (dead letter by default). A message that cannot be
 * staged goes to the dead-letter topic like any failing event: an outage is waited out, a
 * failing batch is staged event by event, and each event that still fails is retried within
 * the budget and then dead-lettered, so no message stalls its partition.
 */
export class WindowHandling implements Handling {
  readonly closer: WindowCloser;
  private readonly spec: Required<WindowSpec>;
  private running = false;
  private partitions = new Map<string, PartitionState>();
  /** Window → offsets waiting for it to be handled. */
  private waiting = new Map<string, { id: WindowId; closeAt: number; offsets: { state: PartitionState; offset: string }[] }>();
  /** Offset → how many of its windows are still open. */
  private openCount = new Map<string, number>();
  private reconcileTimer?: NodeJS.Timeout;
  private watermarkTimer?: NodeJS.Timeout;
  private admin?: Promise<BrokerAdmin>;
  private lastRefresh = 0;
  private readonly stalls = new StallWatch(STALL_REPORT_MS);
  private readonly staging = new Coalescer<StagingRequest, StagingAnswer>((requests) => this.stageTogether(requests));

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly useCase: WindowedUseCase,
    private readonly options: WindowHandlingOptions,
  ) {
    this.spec = validateWindowSpec(useCase.window);
    this.closer = new WindowCloser({
      runtime,
      useCase,
      gateOnWatermarks: this.spec.time === 'event',
      onClosed: (id) => this.windowHandled(id),
      // Only event-time windows wait for watermarks; processing-time ones need no refresh first.
      beforeClosing: this.spec.time === 'event' ? () => this.refreshWatermarks() : undefined,
      // Windows past their close time but held by a watermark: look again shortly.
      stillWaiting: () => this.hasDueWindows(),
    });
  }

  get parked(): number {
    return 0;
  }

  start(): void {
    this.running = true;
    this.closer.start();
    this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), 1000);
    // Other instances' event-time windows wait for our partitions too: keep our watermarks fresh.
    if (this.spec.time === 'event') {
      this.watermarkTimer = setInterval(() => {
        void this.refreshWatermarks()
          .then(() => this.closer.kick())
          .catch((error) => this.runtime.logger.debug('watermark refresh failed', { group: this.runtime.groupId, ...errorFields(error) }));
      }, this.options.watermarkIntervalMs ?? 200);
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    clearInterval(this.reconcileTimer);
    clearInterval(this.watermarkTimer);
    await withinDeadline(this.closer.stop(), deadlineMs);
    await Promise.all([...this.partitions.values()].map((state) => this.commit(state)));
    this.rebalancing();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  rebalancing(): void {
    this.stalls.forget();
    this.partitions = new Map();
    this.waiting = new Map();
    this.openCount = new Map();
  }

  private stateFor(batch: PartitionBatch): PartitionState {
    const id = `${batch.topic}:${batch.partition}`;
    let state = this.partitions.get(id);
    if (!state) {
      state = { topic: batch.topic, partition: batch.partition, tracker: new OffsetTracker() };
      this.partitions.set(id, state);
    }
    return state;
  }

  async take(batch: PartitionBatch): Promise<string | undefined> {
    if (batch.messages.length === 0 || !batch.isRunning()) return undefined;
    const state = this.stateFor(batch);
    const arrival = Date.now();
    const staged: (StagedEvent & { message: IncomingMessage })[] = [];
    for (const message of batch.messages) {
      state.tracker.add(message.offset);
      try {
        staged.push(this.toStage(message, arrival));
      } catch (error) {
        // Unusable (or its key could not be computed): the same verdict as a failing event, at once.
        const verdict = failureVerdict(error, this.runtime.policy.maxAttempts, this.runtime.policy);
        const failure = isRetryLater(verdict) ? { reason: 'retries-exhausted' as const, error, attempts: 1 } : { ...verdict, attempts: 1 };
        if (!(await this.untilDone(batch, () => this.runtime.deadLetter(message, failure)))) return undefined;
        state.tracker.done(message.offset);
      }
    }
    const last = batch.messages[batch.messages.length - 1].offset;
    const caughtUp = BigInt(last) + 1n >= BigInt(batch.highWatermark);
    const watermark = Math.max(caughtUp ? arrival : 0, state.caughtUpAt ?? 0, state.maxTime ?? 0, ...staged.map((e) => e.eventTime));
    if (staged.length > 0 && !(await this.stageOrDeadLetter(batch, state, staged, watermark))) return undefined;
    state.position = BigInt(last) + 1n;
    state.maxTime = Math.max(state.maxTime ?? 0, ...staged.map((e) => e.eventTime));
    if (caughtUp) state.caughtUpAt = arrival;
    await this.commit(state);
    // The watermark moved: windows that were waiting for it may be due now.
    if (this.hasDueWindows()) this.closer.kick();
    return last;
  }

  /** Reads a message and places it in its windows; throws what makes it unusable. */
  private toStage(message: IncomingMessage, arrival: number): StagedEvent & { message: IncomingMessage } {
    const envelope = this.runtime.read(message);
    const eventTime = this.spec.time === 'event' ? Date.parse(envelope.time) : arrival;
    const key = this.useCase.groupBy(envelope as EnvelopeOf<typeof this.useCase.events>);
    if (typeof key !== 'string') throw new TypeError(`groupBy returned ${typeof key}, not a string`);
    const windows = windowsFor(this.spec, eventTime).map((w) => ({ key, ...w, closeAt: closeAt(this.spec, w) }));
    return { envelope, eventTime, windows, message };
  }

  /**
   * Stages a batch: all together first; if that fails for a reason other than an outage, event
   * by event, so an event no transaction can stage is found, retried within the budget and then
   * dead-lettered with the reason, while the others are staged. False if the consumer stopped.
   */
  private async stageOrDeadLetter(batch: PartitionBatch, state: PartitionState, events: (StagedEvent & { message: IncomingMessage })[], watermark: number): Promise<boolean> {
    let firstError: unknown;
    const together = await this.untilDone(batch, () => this.stage(state, events, watermark), (error) => {
      firstError = error;
      return classifyFailure(error) !== 'outage';
    });
    if (together !== 'gave-up') return together;
    this.runtime.logger.warn('a batch could not be staged; staging its events one by one', { group: this.runtime.groupId, partition: state.partition, ...errorFields(firstError) });
    for (const event of events) {
      let attempts = 0;
      let failure: DeadLetterFailure | undefined;
      const alone = await this.untilDone(batch, () => this.stage(state, [event], watermark), (error) => {
        attempts += classifyFailure(error) === 'outage' ? 0 : 1;
        const verdict = failureVerdict(error, attempts, this.runtime.policy);
        if (isRetryLater(verdict)) return false;
        failure = verdict;
        return true;
      });
      if (alone === false) return false;
      const givenUp = failure;
      if (alone === 'gave-up' && givenUp) {
        if (!(await this.untilDone(batch, () => this.runtime.deadLetter(event.message, givenUp)))) return false;
        state.tracker.done(event.message.offset);
      }
    }
    return true;
  }

  /**
   * Retries `work` with back-off while the consumer runs and `giveUp` (given each failure) says
   * no. True once it succeeded, 'gave-up' when giveUp said so, false when the consumer stopped.
   */
  private async untilDone(batch: PartitionBatch, work: () => Promise<unknown>, giveUp: (error: unknown) => boolean = () => false): Promise<boolean | 'gave-up'> {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return true;
      } catch (error) {
        if (giveUp(error)) return 'gave-up';
        if (!batch.isRunning() || batch.isStale()) return false;
        const wait = backoffMs(this.runtime.policy, Math.min(attempt + 1, 20));
        this.runtime.logger.warn('windowed use case could not take a batch; retrying', { group: this.runtime.groupId, attempt, retryInMs: wait, ...errorFields(error) });
        await batch.heartbeat().catch(() => undefined);
        await sleep(wait);
      }
    }
  }

  /**
   * Stages the events; for processing-time windows, an event whose window closed while it was
   * on its way in (received, not yet staged) is simply received now: into the current window.
   * That window may close in turn before this transaction locks it (short windows, a busy
   * database), so this repeats a few times before such an event counts as late.
   */
  private async stageAll(tx: SqlClient, events: (StagedEvent & { message: IncomingMessage })[]) {
    let result = await stageEvents(tx, this.runtime.groupId, events);
    for (let round = 0; this.spec.time === 'processing' && result.late.length > 0 && round < PROCESSING_TIME_RESTAGES; round++) {
      const again = new Set(result.late.map((l) => l.eventId));
      const now = Date.now();
      const rewindowed = events
        .filter((e) => again.has(e.envelope.id))
        .map((e) => ({ ...e, eventTime: now, windows: windowsFor(this.spec, now).map((w) => ({ key: e.windows[0].key, ...w, closeAt: closeAt(this.spec, w) })) }));
      const retried = await stageEvents(tx, this.runtime.groupId, rewindowed);
      for (const e of rewindowed) {
        // By message, not event id: two copies of one event (a resend, or two versions side by side) are two messages.
        const index = events.findIndex((x) => x.message === e.message);
        events[index] = e;
      }
      for (const [key, value] of retried.open) result.open.set(key, value);
      result = { ...result, late: retried.late };
    }
    return result;
  }

  private hasDueWindows(now = Date.now()): boolean {
    for (const w of this.waiting.values()) if (w.closeAt <= now) return true;
    return false;
  }

  /**
   * Stages one partition's batch. Batches of several partitions fetched together share one
   * transaction (the coalescer), so the database sees one staging transaction per fetch, not
   * one per partition.
   */
  private async stage(state: PartitionState, events: (StagedEvent & { message: IncomingMessage })[], watermark: number): Promise<void> {
    const { result, lateForDeadLetter } = await this.staging.submit({ state, events, watermark });
    for (const message of lateForDeadLetter) {
      await this.runtime.deadLetter(message, { reason: 'late-event', attempts: 1, error: new Error('event arrived after its window was handled') });
    }
    for (const e of events) {
      // Offsets wait for every open window holding the event; with none open (late, or a
      // redelivery of an event whose windows were handled) the event is finished.
      const windows = result.staged.get(e.envelope.id) ?? e.windows;
      const open = windows.map((w) => result.open.get(windowIdString(w))).filter((w) => w !== undefined);
      if (open.length === 0) {
        state.tracker.done(e.message.offset);
        continue;
      }
      const offsetId = `${state.topic}:${state.partition}:${e.message.offset}`;
      this.openCount.set(offsetId, open.length);
      for (const w of open) {
        const id = windowIdString(w.id);
        const entry = this.waiting.get(id) ?? { id: w.id, closeAt: w.closeAt, offsets: [] };
        entry.closeAt = Math.max(entry.closeAt, w.closeAt);
        entry.offsets.push({ state, offset: e.message.offset });
        this.waiting.set(id, entry);
        this.closer.schedule(w.closeAt);
      }
    }
  }

  /** One transaction staging the batches of several partitions; each gets its part of the answer. */
  private async stageTogether(requests: readonly StagingRequest[]): Promise<StagingAnswer[]> {
    const { useCase, runtime } = this;
    const all = requests.flatMap((r) => r.events);
    const committed = new AfterCommit();
    const result = await withTransaction(runtime.pool, async (tx) => {
      const staging = await this.stageAll(tx, all);
      // Only event-time windows wait for watermarks.
      if (this.spec.time === 'event') await saveWatermarks(tx, this.runtime.groupId, latestPerPartition(requests));
      if (staging.late.length > 0 && typeof useCase.late === 'function') {
        for (const late of staging.late) {
          const event = all.find((e) => e.envelope.id === late.eventId);
          if (!event || !(await recordInInbox(tx, this.runtime.groupId, event.envelope))) continue;
          const window = { key: late.window.key, start: new Date(late.window.start), end: new Date(late.window.end) };
          await useCase.late(event.envelope as never, window, runtime.handlerContext(tx, event.envelope, committed));
        }
      }
      return staging;
    });
    committed.run(runtime.logger);
    const lateIds = typeof useCase.late === 'function' ? new Set<string>() : new Set(result.late.map((l) => l.eventId));
    // stageAll may have moved processing-time events on to the current window: each request sees where its events went.
    // Matched by message: keyed by event id, one copy of an event taken twice (a resend, or two versions
    // published side by side) took the other's place, and the offset of the first never finished.
    const byMessage = new Map(all.map((e) => [e.message, e]));
    return requests.map(({ events }) => {
      for (let i = 0; i < events.length; i++) events[i] = byMessage.get(events[i].message) ?? events[i];
      return { result, lateForDeadLetter: events.filter((e) => lateIds.has(e.envelope.id)).map((e) => e.message) };
    });
  }

  /** A window was handled (by us or found handled): release the offsets that waited for it. */
  private windowHandled(id: WindowId): void {
    const key = windowIdString(id);
    const entry = this.waiting.get(key);
    if (!entry) return;
    this.waiting.delete(key);
    const touched = new Set<PartitionState>();
    for (const { state, offset } of entry.offsets) {
      const offsetId = `${state.topic}:${state.partition}:${offset}`;
      const left = (this.openCount.get(offsetId) ?? 1) - 1;
      if (left > 0) {
        this.openCount.set(offsetId, left);
        continue;
      }
      this.openCount.delete(offsetId);
      state.tracker.done(offset);
      touched.add(state);
    }
    for (const state of touched) void this.commit(state);
  }

  /**
   * Publishes, for each partition this member holds, the time before which every event has
   * been staged: the check time when we have read up to the log end, otherwise the latest
   * event time staged. The closer handles a window only when all partitions passed it.
   */
  private async refreshWatermarks(): Promise<void> {
    if (Date.now() - this.lastRefresh < 20) return;
    this.lastRefresh = Date.now();
    const admin = await this.adminClient();
    const checkedAt = Date.now();
    const held = this.runtime.assignment.filter((a) => a.topic !== this.runtime.redriveTopic);
    if (held.length === 0) return;
    const topics = [...new Set(held.map((a) => a.topic))];
    const [ends, committed] = await Promise.all([Promise.all(topics.map((t) => admin.endOffsets(t))).then((r) => r.flat()), admin.committedOffsets(this.runtime.groupId, topics)]);
    const marks: { topic: string; partition: number; watermark: number }[] = [];
    for (const { topic, partition } of held) {
      const state = this.partitions.get(`${topic}:${partition}`);
      const end = ends.find((e) => e.topic === topic && e.partition === partition);
      const commit = committed.find((c) => c.topic === topic && c.partition === partition);
      const position = [state?.position, commit && commit.offset !== '-1' ? BigInt(commit.offset) : undefined].reduce<bigint | undefined>(
        (a, b) => (b === undefined ? a : a === undefined || b > a ? b : a),
        undefined,
      );
      if (end && position !== undefined && position >= BigInt(end.offset)) marks.push({ topic, partition, watermark: checkedAt });
      else if (state?.maxTime !== undefined || state?.caughtUpAt !== undefined) marks.push({ topic, partition, watermark: Math.max(state.maxTime ?? 0, state.caughtUpAt ?? 0) });
    }
    await saveWatermarks(this.runtime.pool, this.runtime.groupId, marks);
  }

  private async adminClient(): Promise<BrokerAdmin> {
    this.admin ??= this.options.broker.admin();
    try {
      return await this.admin;
    } catch (error) {
      this.admin = undefined;
      throw error;
    }
  }

  /**
   * Once a second: windows another instance handled never reach our closer, so overdue ones are
   * looked up; and a commit Kafka refused (the coordinator moving, the broker restarting) is
   * tried again, or a partition whose traffic stopped would keep its lag although all is done.
   */
  private async reconcile(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((state) => this.commit(state)));
    this.reportStalls();
    const overdue = [...this.waiting.values()].filter((w) => w.closeAt < Date.now() - 500).map((w) => w.id);
    if (overdue.length === 0) return;
    for (const id of await closedAmong(this.runtime.pool, this.runtime.groupId, overdue)) this.windowHandled(id);
  }

  /**
   * A partition whose commit point stays put for STALL_REPORT_MS while it has unfinished events
   * is logged once, with what its lowest unfinished event waits for: the windows holding it (and
   * how overdue they are) or nothing at all, which would be a bug. The lag alone cannot tell.
   */
  private reportStalls(now = Date.now()): void {
    for (const state of this.partitions.values()) {
      const offset = state.tracker.committable();
      const stalledForMs = this.stalls.observe(`${state.topic}:${state.partition}`, offset, state.tracker.pendingCount, now);
      if (stalledForMs === undefined) continue;
      const waitingFor = [...this.waiting.values()]
        .filter((w) => w.offsets.some((o) => o.state === state && o.offset === offset))
        .map((w) => ({ key: w.id.key, start: new Date(w.id.start).toISOString(), overdueMs: now - w.closeAt }));
      this.runtime.logger.error('windowed partition not moving', {
        group: this.runtime.groupId,
        topic: state.topic,
        partition: state.partition,
        offset,
        stalledForMs,
        pending: state.tracker.pendingCount,
        lastCommitted: state.lastCommitted,
        waitingFor,
        closerRoundMs: this.closer.closingForMs,
      });
    }
  }

  private async commit(state: PartitionState): Promise<void> {
    const offset = state.tracker.committable();
    if (offset === undefined || offset === state.lastCommitted || this.partitions.get(`${state.topic}:${state.partition}`) !== state) return;
    state.lastCommitted = offset;
    if (!(await this.runtime.commit(state, offset))) state.lastCommitted = undefined;
  }
}
