import { fold, snapshotDue } from './decider';

describe('snapshot schedule', () => {
  it('is due when an append crosses a multiple of the interval', () => {
    expect(snapshotDue(10, 0, 9)).toBe(false);
    expect(snapshotDue(10, 9, 10)).toBe(true);
    expect(snapshotDue(10, 8, 13)).toBe(true);
    expect(snapshotDue(10, 10, 19)).toBe(false);
    // A batch jumping over several multiples takes one snapshot.
    expect(snapshotDue(10, 5, 31)).toBe(true);
    expect(snapshotDue(1, 3, 4)).toBe(true);
  });

  it('refuses an interval below one', () => {
    expect(() => snapshotDue(0, 0, 1)).toThrow(RangeError);
    expect(() => snapshotDue(2.5, 0, 1)).toThrow(RangeError);
  });
});

describe('fold', () => {
  it('evolves the state through the events in order', () => {
    const events = [{ type: 'Set', data: 'a' }, { type: 'Set', data: 'b' }];
    expect(fold((state: string[], e) => [...state, e.data as string], [], events)).toEqual(['a', 'b']);
    expect(fold((state: string[]) => state, ['x'], [])).toEqual(['x']);
  });
});
