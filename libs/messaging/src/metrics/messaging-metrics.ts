import { DURATION_BUCKETS_SECONDS, noopMetrics, type CounterHandle, type HistogramHandle, type Metrics } from '@platform/core';
import type { DeadLetterReason } from '../consumer/dead-letters';
import { SagaMetrics } from './saga-metrics';

/** The metric families of libs/messaging (Prometheus names: base units, `_total` counters). */
export const MESSAGING_METRICS = {
  handled: { name: 'messaging_events_handled_total', help: "Events whose handling committed (a windowed use case: events of windows handled), per use case; duplicates the inbox recognised are not counted.", labelNames: ['use_case'] },
  retried: { name: 'messaging_events_retried_total', help: 'Failed attempts that will be retried (an event, or a window), per use case; outages included.', labelNames: ['use_case'] },
  deadLettered: { name: 'messaging_events_dead_lettered_total', help: "Events sent to the use case's dead-letter topic, per use case and dlq_reason.", labelNames: ['use_case', 'reason'] },
  redriven: { name: 'messaging_events_redriven_total', help: "Events read from the use case's redrive topic.", labelNames: ['use_case'] },
  handlerDuration: {
    name: 'messaging_handler_duration_seconds',
    help: "Time spent in the use case's handler per call (handle, handleWindow or handleWindows), failed calls included.",
    labelNames: ['use_case'],
    buckets: DURATION_BUCKETS_SECONDS,
  },
  windowEmitLateness: {
    name: 'messaging_window_emit_lateness_seconds',
    help: 'How long after its close time (end + grace) a window was handled or given up on.',
    labelNames: ['use_case'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  lagMessages: { name: 'messaging_consumer_lag_messages', help: 'Messages of a partition the consumer group has not committed past (log end offset minus committed offset).', labelNames: ['group', 'topic', 'partition'] },
  lagSeconds: {
    name: 'messaging_consumer_lag_seconds',
    help: 'Age of the oldest message the consumer group has not committed past (now minus its Kafka timestamp); 0 when caught up.',
    labelNames: ['group', 'topic', 'partition'],
  },
  kafkaUp: { name: 'messaging_kafka_up', help: 'Whether the broker answered the last consumer-lag read in time (1) or not (0: the lag shown is the last known).' },
  outboxRows: { name: 'messaging_outbox_rows', help: 'Rows in messaging.outbox waiting to be sent to Kafka.' },
  outboxOldestAge: { name: 'messaging_outbox_oldest_row_age_seconds', help: 'Age of the oldest row in messaging.outbox; 0 when it is empty.' },
  relaySent: { name: 'messaging_relay_sent_total', help: 'Outbox rows this process relayed to Kafka.' },
  relayFailures: { name: 'messaging_relay_failures_total', help: "Relay rounds that failed (Kafka or the database away); the rows stay in the outbox." },
} as const;

const REASONS: readonly DeadLetterReason[] = ['invalid-payload', 'non-retriable', 'retries-exhausted', 'late-event'];

/**
 * One use case's counters and histograms, bound to its label once: counting an event is an
 * addition. Shared by the consumer runtime and its handling (events, windows).
 */
export class UseCaseMetrics {
  readonly handled: CounterHandle;
  readonly retried: CounterHandle;
  readonly redriven: CounterHandle;
  readonly handlerDuration: HistogramHandle;
  private windowLateness_?: HistogramHandle;
  private saga_?: SagaMetrics;
  private readonly deadLettered: Record<DeadLetterReason, CounterHandle>;

  constructor(
    private readonly metrics: Metrics,
    private readonly useCase: string,
  ) {
    const labels = { use_case: useCase };
    this.handled = metrics.counter(MESSAGING_METRICS.handled, labels);
    this.retried = metrics.counter(MESSAGING_METRICS.retried, labels);
    this.redriven = metrics.counter(MESSAGING_METRICS.redriven, labels);
    this.handlerDuration = metrics.histogram(MESSAGING_METRICS.handlerDuration, labels);
    // Every reason from the start, so a rate over them exists before the first dead letter.
    this.deadLettered = Object.fromEntries(REASONS.map((reason) => [reason, metrics.counter(MESSAGING_METRICS.deadLettered, { ...labels, reason })])) as Record<
      DeadLetterReason,
      CounterHandle
    >;
  }

  /** Made on first use: only windowed use cases have it. */
  get windowEmitLateness(): HistogramHandle {
    return (this.windowLateness_ ??= this.metrics.histogram(MESSAGING_METRICS.windowEmitLateness, { use_case: this.useCase }));
  }

  /** Made on first use: only sagas have it. */
  get saga(): SagaMetrics {
    return (this.saga_ ??= new SagaMetrics(this.metrics, this.useCase));
  }

  deadLetter(reason: DeadLetterReason, events = 1): void {
    this.deadLettered[reason].inc(events);
  }
}

/** A use case's metrics where nothing is counted (components built without a Metrics). */
export const noUseCaseMetrics = (useCase: string): UseCaseMetrics => new UseCaseMetrics(noopMetrics, useCase);
