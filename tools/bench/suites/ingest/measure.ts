import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full garbage collection on demand (the bench runs under tsx, without --expose-gc): phases
// start from a collected heap, so one phase's garbage is not counted for, or against, the next.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;

/**
 * Memory of one phase: the peak resident set size (sampled every 20 ms) above its value after a
 * full collection at the start; and the heap still in use after a full collection at the end,
 * above the same at the start (what the phase keeps, not its garbage).
 */
export class MemoryUse {
  private readonly startRss: number;
  private readonly startHeap: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    collectGarbage();
    this.startRss = process.memoryUsage.rss();
    this.startHeap = process.memoryUsage().heapUsed;
    this.peak = this.startRss;
    this.timer = setInterval(() => this.sample(), 20);
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  /** Stops sampling. */
  stop(): { rssGrowthMb: number; heapRetainedMb: number } {
    this.sample();
    clearInterval(this.timer);
    collectGarbage();
    return { rssGrowthMb: (this.peak - this.startRss) / MB, heapRetainedMb: (process.memoryUsage().heapUsed - this.startHeap) / MB };
  }
}

export interface Ingested {
  readonly messages: number;
  readonly seconds: number;
  /** Peak RSS above the start (after a full collection), MB. */
  readonly rssGrowthMb: number;
  /** Heap in use after a full collection at the end, above the same at the start, MB. */
  readonly heapRetainedMb: number;
}

/**
 * Messages 0..count-1 handed out to `writers` concurrent loops, each storing one message at a
 * time; stops handing out new ones once `budgetSeconds` have passed (the anti-pattern would take
 * hours to ingest them all).
 */
export async function ingest(count: number, writers: number, store: (i: number) => Promise<void>, budgetSeconds = Infinity): Promise<Ingested> {
  const memory = new MemoryUse();
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < count && elapsed() < budgetSeconds; i = next++) {
        await store(i);
        done += 1;
      }
    }),
  );
  const seconds = elapsed();
  return { messages: done, seconds, ...memory.stop() };
}

/** Median milliseconds of `runs` calls of `load`. */
export async function medianMs(runs: number, load: (run: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const t0 = process.hrtime.bigint();
    await load(run);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
