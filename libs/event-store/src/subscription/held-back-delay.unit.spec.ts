import { nextReadDelay } from './held-back-delay';

describe('delay before the next read of a caught-up reader', () => {
  it('is the poll interval when nothing is held back', () => {
    expect(nextReadDelay(1000, 0)).toBe(1000);
  });

  it('starts short while events are held back and doubles up to the poll interval', () => {
    expect([1, 2, 3, 4, 5, 6].map((reads) => nextReadDelay(1000, reads))).toEqual([50, 100, 200, 400, 800, 1000]);
    expect(nextReadDelay(1000, 1_000)).toBe(1000);
    expect(nextReadDelay(30, 1)).toBe(30);
  });
});
