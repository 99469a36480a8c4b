import { backoffDelayMs, cachedRead, errorMessage, silentLogger, type Logger, type Metrics } from '@platform/core';
import { LOG_START, type LogPosition } from '../store/log-position';
import type { PostgresEventStore } from '../store/postgres-event-store';
import { EVENT_STORE_METRICS, PROJECTION_LAG_COUNT_LIMIT } from '../metrics/event-store-metrics';
import { checkpointLag, ensureCheckpoint, headPosition, lockCheckpoint, markCaughtUp, readCheckpoint, resetCheckpoint } from './checkpoints';
import { ProjectionFailedError, type Projection, type ProjectionFailure, type ProjectionProgress, type ProjectionStatus } from './projection';
import { runBatch, type BatchOutcome } from './projection-batch';
import { ProgressMeter } from './progress';
import { nextReadDelay } from '../subscription/held-back-delay';

export interface ProjectionRunnerOptions {
  /** Events per transaction (default 500). */
  readonly batchSize?: number;
  /** Fallback when no wake-up arrives (default 1000 ms). */
  readonly pollIntervalMs?: number;
  readonly logger?: Logger;
  /** Reports the checkpoint's position and the events behind it when scraped (read then, cached 2 s). */
  readonly metrics?: Metrics;
}

export interface CatchUpOptions {
  readonly onProgress?: (progress: ProjectionProgress) => void;
  /** Default 1000 ms; a final report (done: true) always comes. */
  readonly progressIntervalMs?: number;
}

/**
 * Keeps one projection's read model up to date: batches of its events in the global order,
 * each applied in one transaction with the checkpoint. After a crash it resumes from the last
 * committed checkpoint; an event that fails stops it there (status 'failed', see status()).
 * Several runners of one projection (replicas) are safe: a batch commits only if the
 * checkpoint is still where it read from.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  private abort?: AbortController;
  private loop?: Promise<void>;
  private checkpoint?: LogPosition;
  private failure_?: ProjectionFailure;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly projection: Projection,
    options: ProjectionRunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
    if (options.metrics) this.reportTo(options.metrics);
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** What stopped the loop, when an event failed. */
  get failure(): ProjectionFailure | undefined {
    return this.failure_;
  }

  /** Follows the store until stop() or a failing event; a failed projection is retried on start. */
  start(): void {
    if (this.loop) return;
    this.failure_ = undefined;
    const abort = (this.abort = new AbortController());
    this.store.signals.retainListener();
    this.loop = this.run(abort.signal).finally(() => {
      this.store.signals.releaseListener();
      this.loop = undefined;
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  /** Applies batches until caught up; throws ProjectionFailedError when an event fails. */
  async catchUp(options: CatchUpOptions = {}): Promise<ProjectionProgress> {
    const { onProgress, progressIntervalMs = 1000 } = options;
    const meter = new ProgressMeter(this.projection.name);
    let reportedAt = Date.now();
    for (;;) {
      const outcome = await this.step();
      if (outcome.kind === 'failed') throw new ProjectionFailedError(this.projection.name, outcome.failure);
      if (outcome.kind === 'applied') {
        meter.add(outcome.applied);
        if (outcome.caughtUp) break;
      }
      if (onProgress && Date.now() - reportedAt >= progressIntervalMs) {
        onProgress(await this.report(meter, false));
        reportedAt = Date.now();
      }
    }
    await this.store.transaction(({ sql }) => markCaughtUp(sql, this.projection.name));
    const final = await this.report(meter, true);
    onProgress?.(final);
    return final;
  }

  /** Empties the read model and resets the checkpoint in one transaction, then catches up from zero. */
  async rebuild(options: CatchUpOptions = {}): Promise<ProjectionProgress> {
    const wasRunning = this.running;
    await this.stop();
    const { name } = this.projection;
    this.logger.info('projection rebuild started', { projection: name });
    await this.store.transaction(async ({ sql }) => {
      await ensureCheckpoint(sql, name);
      await lockCheckpoint(sql, name);
      await this.projection.truncate(sql);
      await resetCheckpoint(sql, name);
    });
    this.checkpoint = LOG_START;
    try {
      const progress = await this.catchUp(options);
      this.logger.info('projection rebuild finished', { ...progress });
      return progress;
    } finally {
      if (wasRunning) this.start();
    }
  }

  async status(): Promise<ProjectionStatus> {
    return this.store.transaction(async ({ sql }) => {
      await ensureCheckpoint(sql, this.projection.name);
      const status = await readCheckpoint(sql, this.projection.name);
      if (!status) throw new Error(`projection "${this.projection.name}" has no checkpoint row`);
      return status;
    });
  }

  private async run(abort: AbortSignal): Promise<void> {
    const { signals } = this.store;
    let failures = 0;
    let heldBackReads = 0;
    let markedCaughtUp = false;
    while (!abort.aborted) {
      const seen = signals.current;
      try {
        const outcome = await this.step();
        failures = 0;
        if (outcome.kind === 'failed') {
          this.logger.error('projection stopped at a failing event', { projection: this.projection.name, ...outcome.failure });
          return;
        }
        if (outcome.kind === 'applied' && outcome.caughtUp) {
          if (!markedCaughtUp) {
            await this.store.transaction(({ sql }) => markCaughtUp(sql, this.projection.name));
            markedCaughtUp = true;
          }
          heldBackReads = outcome.heldBack ? heldBackReads + 1 : 0;
          await signals.wait(seen, nextReadDelay(this.pollIntervalMs, heldBackReads), abort);
        }
      } catch (error) {
        failures += 1;
        const backoffMs = backoffDelayMs({ initialMs: 200, maxMs: this.pollIntervalMs * 5, multiplier: 2 }, failures);
        this.logger.warn('projection batch failed; retrying', { projection: this.projection.name, error: errorMessage(error), attempt: failures, backoffMs });
        await signals.wait(signals.current, backoffMs, abort);
      }
    }
  }

  /** The checkpoint as stored (replicas share it), not this runner's memory of it. */
  private reportTo(metrics: Metrics): void {
    const { name } = this.projection;
    const read = cachedRead(() => this.store.transaction(({ sql }) => checkpointLag(sql, name, PROJECTION_LAG_COUNT_LIMIT)));
    const labels = { projection: name };
    metrics.collect({ ...EVENT_STORE_METRICS.projectionPosition, type: 'gauge' }, async () => {
      const { value } = await read();
      return value ? [{ labels, value: value.globalPosition }] : [];
    });
    metrics.collect({ ...EVENT_STORE_METRICS.projectionLag, type: 'gauge' }, async () => {
      const { value } = await read();
      return value ? [{ labels, value: value.behind }] : [];
    });
  }

  private async step(): Promise<BatchOutcome> {
    this.checkpoint ??= (await this.status()).position;
    const outcome = await runBatch(this.store, this.projection, this.checkpoint, this.batchSize);
    if (outcome.kind === 'applied') this.checkpoint = outcome.next;
    else this.checkpoint = undefined;
    if (outcome.kind === 'failed') this.failure_ = outcome.failure;
    return outcome;
  }

  private async report(meter: ProgressMeter, done: boolean): Promise<ProjectionProgress> {
    const head = await this.store.transaction(({ sql }) => headPosition(sql));
    return meter.report(this.checkpoint ?? LOG_START, head, done);
  }
}
