import type { LogPosition } from '../store/log-position';
import type { ProjectionProgress } from './projection';

/** Counts applied events and turns them into a rate and a lag for progress reports. */
export class ProgressMeter {
  private processed = 0;

  constructor(
    private readonly projection: string,
    private readonly startedAt: number = Date.now(),
  ) {}

  add(events: number): void {
    this.processed += events;
  }

  report(position: LogPosition, head: number, done: boolean, now: number = Date.now()): ProjectionProgress {
    const seconds = Math.max(now - this.startedAt, 1) / 1000;
    return {
      projection: this.projection,
      processed: this.processed,
      eventsPerSecond: Math.round((this.processed / seconds) * 10) / 10,
      position,
      // Positions are handed out in a slightly different order than the global order, so this is
      // approximate on the way; caught up (done) means nothing readable is left.
      lag: done ? 0 : Math.max(0, head - position.globalPosition),
      done,
    };
  }
}
