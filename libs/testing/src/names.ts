import { randomBytes } from 'node:crypto';

/**
 * A name unique to this test run, safe for databases, Kafka namespaces and group ids:
 * `<prefix>_<base36 time>_<random>`. The time part lets sweeps find leftovers of crashed runs.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 20);
  return `${clean}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function createdAtOf(name: string): number | undefined {
  const match = /_([0-9a-z]{8,9})_[0-9a-f]{6}$/.exec(name);
  return match ? parseInt(match[1], 36) : undefined;
}
