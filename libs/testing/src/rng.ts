/**
 * A small seeded random number generator (mulberry32): the same seed gives the same sequence
 * (faults, kills, workload), so a run that found something can be replayed with its seed.
 */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A fresh generator derived from this seed, for an independent stream (faults vs workload). */
  fork(salt: number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + salt) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** One of the entries, with probability proportional to its weight (weights ≤ 0 never). */
  weighted<T>(entries: readonly (readonly [T, number])[]): T | undefined {
    const usable = entries.filter(([, w]) => w > 0);
    const total = usable.reduce((sum, [, w]) => sum + w, 0);
    if (total <= 0) return undefined;
    let x = this.next() * total;
    for (const [value, weight] of usable) {
      x -= weight;
      if (x < 0) return value;
    }
    return usable[usable.length - 1][0];
  }
}

/** A seed for a new run: printed, so the run can be replayed. */
export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
