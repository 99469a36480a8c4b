import { StallWatch } from './stall-watch';

describe('StallWatch', () => {
  it('reports a partition once when its commit point stays put past the limit while events wait', () => {
    const watch = new StallWatch(1000);
    expect(watch.observe('t:0', '5', 2, 0)).toBeUndefined();
    expect(watch.observe('t:0', '5', 2, 999)).toBeUndefined();
    expect(watch.observe('t:0', '5', 2, 1500)).toBe(1500);
    expect(watch.observe('t:0', '5', 2, 9000)).toBeUndefined();
  });

  it('starts over when the commit point moves or nothing is pending', () => {
    const watch = new StallWatch(1000);
    watch.observe('t:0', '5', 2, 0);
    expect(watch.observe('t:0', '6', 1, 1500)).toBeUndefined();
    expect(watch.observe('t:0', '6', 1, 2400)).toBeUndefined();
    expect(watch.observe('t:0', '6', 1, 2600)).toBe(1100);
    expect(watch.observe('t:0', '7', 0, 5000)).toBeUndefined();
    expect(watch.observe('t:0', '7', 1, 5100)).toBeUndefined();
    expect(watch.observe('t:0', '7', 1, 6200)).toBe(1100);
  });

  it('watches partitions apart', () => {
    const watch = new StallWatch(1000);
    watch.observe('t:0', '5', 1, 0);
    watch.observe('t:1', '9', 1, 800);
    expect(watch.observe('t:0', '5', 1, 1200)).toBe(1200);
    expect(watch.observe('t:1', '9', 1, 1200)).toBeUndefined();
  });
});
