/**
 * The metrics port the libraries share. Libraries declare metric families and count through
 * handles bound to one label set at creation, so counting on a hot path is a number added to
 * a field and nothing else; values that are cheaper to read than to track (lag, rows waiting)
 * are read when scraped. The service shell provides the implementation (Prometheus, in
 * libs/service-kit); without one, `noopMetrics` keeps everything a no-op.
 *
 * Names and units follow Prometheus conventions: base units (seconds, bytes), `_total` for
 * counters, snake_case label names.
 */

/** The label values of one series, by label name. */
export type MetricLabels = Readonly<Record<string, string>>;

export interface MetricFamily {
  /** e.g. `messaging_events_handled_total` */
  readonly name: string;
  readonly help: string;
  /** Every series of the family has exactly these labels. */
  readonly labelNames?: readonly string[];
}

export interface HistogramFamily extends MetricFamily {
  /** Upper bounds of the buckets, ascending (+Inf is implicit). */
  readonly buckets: readonly number[];
}

/** A counter of one series: starts at 0 and only grows. */
export interface CounterHandle {
  inc(by?: number): void;
}

/** A histogram of one series. */
export interface HistogramHandle {
  observe(value: number): void;
}

/** One value of a family read at scrape time. */
export interface MetricSample {
  readonly labels?: MetricLabels;
  readonly value: number;
}

export type SampleReader = () => readonly MetricSample[] | Promise<readonly MetricSample[]>;

export interface Metrics {
  /** A counter series; asking twice for the same family and labels returns the same series. */
  counter(family: MetricFamily, labels?: MetricLabels): CounterHandle;
  histogram(family: HistogramFamily, labels?: MetricLabels): HistogramHandle;
  /**
   * Values read on each scrape: gauges, or totals kept elsewhere (a 'counter' reader must
   * return values that never go down). Several readers of one family add their series.
   * Returns a function that stops reading (e.g. when the component stops for good).
   */
  collect(family: MetricFamily & { readonly type: 'gauge' | 'counter' }, read: SampleReader): () => void;
}

const NOOP_COUNTER: CounterHandle = { inc: () => undefined };
const NOOP_HISTOGRAM: HistogramHandle = { observe: () => undefined };

/** Counts nothing: the default of every library component. */
export const noopMetrics: Metrics = {
  counter: () => NOOP_COUNTER,
  histogram: () => NOOP_HISTOGRAM,
  collect: () => () => undefined,
};

/** Buckets (seconds) for work that takes about a millisecond to a few seconds: handlers, HTTP requests. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds since `since` (a `performance.now()` reading). */
export function secondsSince(since: number, now: number = performance.now()): number {
  return Math.max(0, now - since) / 1000;
}

export interface CachedReadOptions {
  /** How long a result is reused (default 2 s): scrapes from several Prometheus servers cost one read. */
  readonly ttlMs?: number;
  /** A read taking longer is given up on for this scrape (default 1.5 s): a scrape never hangs on a dependency. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export interface CachedRead<T> {
  /** The latest value, read again once the last read is older than the TTL; `ok` false when that read failed or timed out. */
  (): Promise<{ readonly value: T | undefined; readonly ok: boolean }>;
}

/**
 * Wraps an expensive read for scrapes: its outcome is reused for `ttlMs`, one read runs at a
 * time however many scrapes come meanwhile, and a scrape waits for it at most `timeoutMs` (the
 * read goes on; its result is used when it arrives). A failed or late read answers with the
 * last value that was read, not ok, and so do the scrapes after it within the TTL.
 */
export function cachedRead<T>(read: () => Promise<T>, options: CachedReadOptions = {}): CachedRead<T> {
  const ttlMs = options.ttlMs ?? 2000;
  const timeoutMs = options.timeoutMs ?? 1500;
  const now = options.now ?? Date.now;
  let value: T | undefined;
  let outcome: { readonly ok: boolean; readonly at: number } | undefined;
  let pending: Promise<void> | undefined;
  return async () => {
    if (outcome && now() - outcome.at < ttlMs) return { value, ok: outcome.ok };
    pending ??= read()
      .then(
        (read) => {
          value = read;
          outcome = { ok: true, at: now() };
        },
        () => {
          outcome = { ok: false, at: now() };
        },
      )
      .finally(() => (pending = undefined));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([pending.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      // Later scrapes within the TTL answer at once; the read still under way replaces this when it ends.
      outcome = { ok: false, at: now() };
      return { value, ok: false };
    }
    return { value, ok: outcome?.ok === true };
  };
}
