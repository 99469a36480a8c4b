/**
 * The benchmark line format shared by every suite: one JSON object per measurement, with the
 * ratio to a baseline measured in the same run on the same machine (raw kafkajs, raw pg).
 */
export interface BenchLine {
  readonly suite: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The metric this one is compared with, or null for a baseline itself. */
  readonly baseline: string | null;
  /** value / baseline value (for latencies: baseline / value, so higher is better), or null. */
  readonly ratio: number | null;
  /** A figure with a target says it (`<= 100 ms`) and whether this run met it. */
  readonly target?: string;
  readonly pass?: boolean;
}

/** What a figure must reach: at most or at least this value, in its unit. */
export type BenchTarget = { readonly atMost: number } | { readonly atLeast: number };

export interface BenchContext {
  /** `--quick`: smaller workloads, the whole run under a minute. */
  readonly quick: boolean;
  /** Prints a measurement as one JSON line on stdout and returns it. */
  record(metric: string, value: number, unit: string, baseline?: { metric: string; value: number; lowerIsBetter?: boolean }, target?: BenchTarget): BenchLine;
  /** Progress for humans, on stderr. */
  progress(message: string): void;
}

export type BenchSuite = (context: BenchContext) => Promise<void>;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
