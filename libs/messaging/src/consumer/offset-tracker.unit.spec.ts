import { OffsetTracker } from './offset-tracker';

describe('OffsetTracker', () => {
  it('commits nothing before anything finished', () => {
    const t = new OffsetTracker();
    t.add('5');
    expect(t.committable()).toBe('5');
    expect(new OffsetTracker().committable()).toBeUndefined();
  });

  it('commits past a contiguous run of finished offsets', () => {
    const t = new OffsetTracker();
    ['10', '11', '12'].forEach((o) => t.add(o));
    ['10', '11', '12'].forEach((o) => t.done(o));
    expect(t.committable()).toBe('13');
    expect(t.pendingCount).toBe(0);
  });

  it('holds the commit at the lowest unfinished offset while later ones finish', () => {
    const t = new OffsetTracker();
    ['1', '2', '3', '4'].forEach((o) => t.add(o));
    t.done('1');
    t.done('3');
    t.done('4');
    expect(t.committable()).toBe('2');
    t.done('2');
    expect(t.committable()).toBe('5');
  });

  it('ignores offsets it never saw or already finished', () => {
    const t = new OffsetTracker();
    t.add('7');
    t.done('7');
    t.done('7');
    t.done('99');
    expect(t.committable()).toBe('8');
  });

  it('lets a discarded offset (fetched before a rebalance) stop holding the commit back, without counting it done', () => {
    const t = new OffsetTracker();
    t.add('3');
    t.add('4');
    t.add('5');
    t.done('4');
    expect(t.committable()).toBe('3');
    t.discard('3');
    expect(t.committable()).toBe('5');
    t.discard('5');
    expect(t.committable()).toBe('5');
  });
});
