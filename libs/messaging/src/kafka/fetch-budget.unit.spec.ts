import { FetchBudget, MIN_FETCH_BYTES } from './fetch-budget';

describe('FetchBudget', () => {
  it('gives one group the whole budget and splits it equally as groups join and leave', () => {
    const budget = new FetchBudget(8 * 1024 * 1024);
    const leaveFirst = budget.join();
    expect(budget.share).toBe(8 * 1024 * 1024);
    const others = Array.from({ length: 19 }, () => budget.join());
    expect(budget.share).toBe(Math.floor((8 * 1024 * 1024) / 20));
    others.forEach((leave) => leave());
    expect(budget.share).toBe(8 * 1024 * 1024);
    // Leaving twice counts once: the two others keep half each, not all.
    budget.join();
    budget.join();
    leaveFirst();
    leaveFirst();
    expect(budget.share).toBe(4 * 1024 * 1024);
  });

  it('never shares less than one fetch takes, however many groups run', () => {
    const budget = new FetchBudget(MIN_FETCH_BYTES * 4);
    for (let i = 0; i < 100; i++) budget.join();
    expect(budget.share).toBe(MIN_FETCH_BYTES);
  });

  it('refuses a budget smaller than one fetch', () => {
    expect(() => new FetchBudget(1000)).toThrow(/below the least one fetch takes/);
    expect(() => new FetchBudget(Number.NaN)).toThrow(/below/);
  });
});
