import type { CounterHandle, HistogramHandle, Metrics } from '@platform/core';

/** The saga metric families (Prometheus names: base units, `_total` counters); `saga` is the saga's name. */
export const SAGA_METRICS = {
  instances: { name: 'platform_saga_instances', help: "Saga instances by state (the library's status: waiting, active, completed, compensated, failed, abandoned).", labelNames: ['saga', 'state'] },
  timeoutsPending: { name: 'platform_saga_timeouts_pending', help: "Saga timeouts scheduled and not fired or cancelled yet, due or not.", labelNames: ['saga'] },
  timeoutsFired: { name: 'platform_saga_timeouts_fired_total', help: 'Saga timeouts this process fired (their step committed), per saga.', labelNames: ['saga'] },
  firingLateness: {
    name: 'platform_saga_timeout_firing_lateness_seconds',
    help: 'How long after its due time a saga timeout fired (its step committed).',
    labelNames: ['saga'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  stepsCompensated: {
    name: 'platform_saga_steps_compensated_total',
    help: "Compensations of a saga's steps acknowledged (a compensating process's steps undone), per saga and step.",
    labelNames: ['saga', 'step'],
  },
} as const;

/** One saga's counters and histogram, bound to its name. */
export class SagaMetrics {
  readonly timeoutsFired: CounterHandle;
  readonly firingLateness: HistogramHandle;
  private readonly compensated = new Map<string, CounterHandle>();

  constructor(
    private readonly metrics: Metrics,
    private readonly saga: string,
  ) {
    this.timeoutsFired = metrics.counter(SAGA_METRICS.timeoutsFired, { saga });
    this.firingLateness = metrics.histogram(SAGA_METRICS.firingLateness, { saga });
  }

  /** Timeouts whose steps committed, with their due times (ms since the epoch). */
  fired(dueAtMs: readonly number[], nowMs = Date.now()): void {
    if (dueAtMs.length === 0) return;
    this.timeoutsFired.inc(dueAtMs.length);
    for (const due of dueAtMs) this.firingLateness.observe(Math.max(0, nowMs - due) / 1000);
  }

  /** Steps whose compensation was acknowledged, once their transaction committed. */
  stepsCompensated(steps: readonly string[]): void {
    for (const step of steps) {
      let counter = this.compensated.get(step);
      if (!counter) this.compensated.set(step, (counter = this.metrics.counter(SAGA_METRICS.stepsCompensated, { saga: this.saga, step })));
      counter.inc();
    }
  }
}
