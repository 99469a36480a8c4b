import fc from 'fast-check';
import { compareLogPositions, LOG_START, maxLogPosition, positionOf, sameLogPosition, toSafeNumber } from './log-position';

const position = fc.record({ transactionId: fc.nat({ max: 2 ** 40 }), globalPosition: fc.nat({ max: 2 ** 40 }) });

describe('log positions', () => {
  it('order by transaction id first, then by global position', () => {
    expect(compareLogPositions({ transactionId: 5, globalPosition: 100 }, { transactionId: 6, globalPosition: 1 })).toBeLessThan(0);
    expect(compareLogPositions({ transactionId: 6, globalPosition: 2 }, { transactionId: 6, globalPosition: 1 })).toBeGreaterThan(0);
    expect(sameLogPosition({ transactionId: 6, globalPosition: 2 }, { transactionId: 6, globalPosition: 2 })).toBe(true);
  });

  it('form a total order with LOG_START below everything', () => {
    fc.assert(
      fc.property(position, position, position, (a, b, c) => {
        expect(Math.sign(compareLogPositions(a, b))).toBe(-Math.sign(compareLogPositions(b, a)));
        if (compareLogPositions(a, b) <= 0 && compareLogPositions(b, c) <= 0) expect(compareLogPositions(a, c)).toBeLessThanOrEqual(0);
        expect(compareLogPositions(LOG_START, a)).toBeLessThanOrEqual(0);
        expect(maxLogPosition(a, b)).toEqual(compareLogPositions(a, b) >= 0 ? a : b);
      }),
    );
  });

  it('take only the position of an event', () => {
    expect(positionOf({ transactionId: 1, globalPosition: 2, id: 'x' } as never)).toEqual({ transactionId: 1, globalPosition: 2 });
  });

  it('parse bigint strings and refuse what a number cannot hold exactly', () => {
    expect(toSafeNumber('9007199254740991', 'position')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeNumber('9007199254740993', 'position')).toThrow('not a safe integer');
    expect(() => toSafeNumber('', 'position')).toThrow('not a safe integer');
    expect(() => toSafeNumber('abc', 'position')).toThrow();
  });
});
