import { cachedRead, noopMetrics, secondsSince } from './metrics';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('cachedRead', () => {
  it('reuses a value for the TTL and reads again after it', async () => {
    let clock = 0;
    let reads = 0;
    const read = cachedRead(async () => ++reads, { ttlMs: 2000, now: () => clock });
    expect(await read()).toEqual({ value: 1, ok: true });
    clock = 1999;
    expect(await read()).toEqual({ value: 1, ok: true });
    clock = 2000;
    expect(await read()).toEqual({ value: 2, ok: true });
  });

  it('reads once for scrapes that come while a read runs', async () => {
    let reads = 0;
    const gate = deferred<number>();
    const read = cachedRead(() => (reads++, gate.promise));
    const both = Promise.all([read(), read()]);
    gate.resolve(7);
    expect(await both).toEqual([
      { value: 7, ok: true },
      { value: 7, ok: true },
    ]);
    expect(reads).toBe(1);
  });

  it('gives up on a read after the timeout with the last value, answers at once within the TTL, and uses the late result later', async () => {
    let clock = 0;
    const gate = deferred<number>();
    let calls = 0;
    const read = cachedRead(() => (++calls === 1 ? Promise.resolve(1) : gate.promise), { ttlMs: 10, timeoutMs: 20, now: () => clock });
    await read();
    clock = 100;
    expect(await read()).toEqual({ value: 1, ok: false });
    const started = Date.now();
    expect(await read()).toEqual({ value: 1, ok: false });
    expect(Date.now() - started).toBeLessThan(15);
    gate.resolve(2);
    await gate.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await read()).toEqual({ value: 2, ok: true });
    expect(calls).toBe(2);
  });

  it('answers a failed read with the last value, not ok, for the TTL, then reads again', async () => {
    let clock = 0;
    let fail = false;
    let reads = 0;
    const read = cachedRead(
      async () => {
        reads++;
        if (fail) throw new Error('down');
        return reads;
      },
      { ttlMs: 2000, now: () => clock },
    );
    expect(await read()).toEqual({ value: 1, ok: true });
    fail = true;
    clock = 2000;
    expect(await read()).toEqual({ value: 1, ok: false });
    clock = 3000;
    expect(await read()).toEqual({ value: 1, ok: false });
    expect(reads).toBe(2);
    fail = false;
    clock = 4000;
    expect(await read()).toEqual({ value: 3, ok: true });
    const never = cachedRead(async () => {
      throw new Error('down');
    });
    expect(await never()).toEqual({ value: undefined, ok: false });
  });
});

describe('noopMetrics and secondsSince', () => {
  it('counts nothing and never throws', () => {
    noopMetrics.counter({ name: 'x_total', help: 'x' }).inc();
    noopMetrics.histogram({ name: 'x_seconds', help: 'x', buckets: [1] }).observe(1);
    noopMetrics.collect({ name: 'x', help: 'x', type: 'gauge' }, () => [])();
  });

  it('turns performance.now() milliseconds into seconds, never negative', () => {
    expect(secondsSince(1000, 3500)).toBe(2.5);
    expect(secondsSince(1000, 900)).toBe(0);
  });
});
