import { Coalescer } from './coalescer';

describe('Coalescer', () => {
  it('answers items submitted in the same turn with one call, each with its own answer', async () => {
    const calls: number[][] = [];
    const coalescer = new Coalescer<number, string>(async (items) => {
      calls.push([...items]);
      return items.map((i) => `answer ${i}`);
    });
    const answers = await Promise.all([coalescer.submit(1), coalescer.submit(2), coalescer.submit(3)]);
    expect(answers).toEqual(['answer 1', 'answer 2', 'answer 3']);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('gathers what is submitted while a call runs into the next call', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const coalescer = new Coalescer<number, number>(async (items) => {
      calls.push([...items]);
      if (calls.length === 1) await first;
      return items;
    });
    const a = coalescer.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [coalescer.submit(2), coalescer.submit(3)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual([[1]]);
    release();
    expect(await Promise.all([a, ...later])).toEqual([1, 2, 3]);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it("rejects every item of a failed call, and goes on with the next one", async () => {
    let fail = true;
    const coalescer = new Coalescer<number, number>(async (items) => {
      if (fail) {
        fail = false;
        throw new Error('the transaction failed');
      }
      return items;
    });
    const results = await Promise.allSettled([coalescer.submit(1), coalescer.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await coalescer.submit(3)).toBe(3);
  });
});
