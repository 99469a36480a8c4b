import { HeldInstances } from './held-instances';

describe('held instances: the firer backs off per instance', () => {
  it('doubles the back-off while an instance stays held, up to the most, and starts again once its timeout fired', () => {
    const held = new HeldInstances(20, 100);
    expect([held.held('a', 0), held.held('a', 20), held.held('a', 60), held.held('a', 140), held.held('a', 240)]).toEqual([20, 60, 140, 240, 340]);
    held.fired('a');
    expect(held.held('a', 1000)).toBe(1020);
  });

  it('leaves out only the instances still backing off, and says when the next back-off ends', () => {
    const held = new HeldInstances(20, 100);
    held.held('a', 0);
    held.held('b', 10);
    expect(held.skipped(5)).toEqual(['a', 'b']);
    expect(held.nextEnd(5)).toBe(20);
    expect(held.skipped(25)).toEqual(['b']);
    expect(held.nextEnd(25)).toBe(30);
    expect(held.skipped(30)).toEqual([]);
    expect(held.nextEnd(30)).toBeUndefined();
  });

  it('forgets an instance whose back-off ended long ago (its timeout cancelled or fired elsewhere)', () => {
    const held = new HeldInstances(20, 100);
    held.held('a', 0);
    held.held('a', 20);
    held.skipped(500);
    expect(held.held('a', 500)).toBe(520);
  });
});
