import type { CounterHandle, HistogramFamily, HistogramHandle, MetricFamily, MetricLabels, Metrics, MetricSample, SampleReader } from '@platform/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

interface CounterSeries {
  readonly labels: MetricLabels;
  value: number;
}

type FamilyKind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly kind: FamilyKind;
  readonly spec: MetricFamily;
  /** Bound counter series, by label values: counting adds to a number, read at scrape. */
  readonly series: Map<string, CounterSeries>;
  readonly histograms: Map<string, HistogramHandle>;
  readonly readers: Set<SampleReader>;
  readonly metric: Counter | Gauge | Histogram;
}

const seriesKey = (labels: MetricLabels | undefined) => (labels ? Object.values(labels).join('\u0000') : '');

/** The readers' samples; a reader that fails is left out of this scrape rather than failing it. */
async function readAll(readers: Iterable<SampleReader>): Promise<MetricSample[]> {
  const results = await Promise.all(
    [...readers].map(async (read) => {
      try {
        return [...(await read())];
      } catch {
        return [];
      }
    }),
  );
  return results.flat();
}

/**
 * The metrics port on prom-client, with one Registry per service process (process metrics
 * included, from collectDefaultMetrics). Counters are plain numbers handed to prom-client at
 * scrape time, so counting allocates nothing; histograms are prom-client's; readers run on
 * scrape. A family asked for twice is the same family (several components may report into it);
 * asked for with another kind or other labels, it is refused.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly families = new Map<string, Family>();

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of everything registered. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  counter(spec: MetricFamily, labels?: MetricLabels): CounterHandle {
    const family = this.family('counter', spec);
    const key = seriesKey(labels);
    let series = family.series.get(key);
    if (!series) {
      series = { labels: labels ?? {}, value: 0 };
      family.series.set(key, series);
    }
    const counted = series;
    return {
      inc: (by = 1) => {
        if (by > 0) counted.value += by;
      },
    };
  }

  histogram(spec: HistogramFamily, labels?: MetricLabels): HistogramHandle {
    const family = this.family('histogram', spec);
    const key = seriesKey(labels);
    let handle = family.histograms.get(key);
    if (!handle) {
      const child = (family.metric as Histogram).labels({ ...labels });
      handle = { observe: (value) => child.observe(value) };
      family.histograms.set(key, handle);
    }
    return handle;
  }

  collect(spec: MetricFamily & { readonly type: 'gauge' | 'counter' }, read: SampleReader): () => void {
    const family = this.family(spec.type, spec);
    family.readers.add(read);
    return () => void family.readers.delete(read);
  }

  private family(kind: FamilyKind, spec: MetricFamily | HistogramFamily): Family {
    const known = this.families.get(spec.name);
    const labelNames = [...(spec.labelNames ?? [])];
    if (known) {
      if (known.kind !== kind || (known.spec.labelNames ?? []).join() !== labelNames.join()) {
        throw new Error(`metric ${spec.name} is already registered as a ${known.kind} with labels [${(known.spec.labelNames ?? []).join(', ')}]`);
      }
      return known;
    }
    const series = new Map<string, CounterSeries>();
    const readers = new Set<SampleReader>();
    const common = { name: spec.name, help: spec.help, labelNames, registers: [this.registry] };
    let metric: Family['metric'];
    if (kind === 'histogram') {
      metric = new Histogram({ ...common, buckets: [...(spec as HistogramFamily).buckets] });
    } else if (kind === 'counter') {
      metric = new Counter({
        ...common,
        async collect() {
          const samples = await readAll(readers);
          this.reset();
          for (const s of series.values()) this.inc({ ...s.labels }, s.value);
          for (const s of samples) this.inc({ ...s.labels }, Math.max(0, s.value));
        },
      });
    } else {
      metric = new Gauge({
        ...common,
        async collect() {
          const samples = await readAll(readers);
          this.reset();
          for (const s of samples) this.set({ ...s.labels }, s.value);
          // Nothing known (its source did not answer): no line, rather than a 0 that looks like a value.
          if (labelNames.length === 0 && samples.length === 0) this.remove();
        },
      });
    }
    const family: Family = { kind, spec, series, histograms: new Map(), readers, metric };
    this.families.set(spec.name, family);
    return family;
  }
}
