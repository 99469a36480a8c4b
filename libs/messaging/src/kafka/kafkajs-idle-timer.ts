/**
 * kafkajs 2.2.4, its last release (2023), keeps a timer going off every millisecond on each
 * connection while nothing is pending: after every check of its pending requests it schedules the
 * next at `throttledUntil - now`, negative when no throttle is set (tulios/kafkajs#1556, #1704,
 * #1751; the fixes proposed in #1667 and #1768 were never released). An idle connected admin client
 * cost a bench process 80-170 ms of CPU a second here (2026-12-02), main thread and kernel. With
 * nothing pending and no throttle to wait out there is nothing to check later: a request pushed
 * meanwhile is sent at once or scheduled by its push, and an answered one checks the queue. So
 * then no check is scheduled; every other case goes as kafkajs wrote it.
 */
interface RequestQueueInternals {
  readonly pending: readonly unknown[];
  readonly throttledUntil: number;
  scheduleCheckPendingRequests(this: RequestQueueInternals): void;
}

let stopped = false;

/** Applied once per process, to the kafkajs module every client of the process shares. */
export function stopKafkaJsIdleTimers(): void {
  if (stopped) return;
  stopped = true;
  // Not part of kafkajs' typed surface; the version is pinned, and nothing newer will be published.
  const { prototype } = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals };
  const schedule = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
}
