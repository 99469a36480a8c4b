import { encodeExpectedVersion, satisfiesExpectedVersion } from './expected-version';

describe('expected versions', () => {
  it('encodes the named expectations and exact versions for the SQL function', () => {
    expect(encodeExpectedVersion('any')).toBe(-1);
    expect(encodeExpectedVersion('stream_exists')).toBe(-2);
    expect(encodeExpectedVersion('no_stream')).toBe(0);
    expect(encodeExpectedVersion(0)).toBe(0);
    expect(encodeExpectedVersion(42)).toBe(42);
  });

  it('refuses versions that are not integers >= 0', () => {
    for (const bad of [-1, -2, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) expect(() => encodeExpectedVersion(bad)).toThrow(RangeError);
  });

  it('states which actual versions satisfy each expectation', () => {
    expect([0, 1, 5].map((v) => satisfiesExpectedVersion('any', v))).toEqual([true, true, true]);
    expect([0, 1, 5].map((v) => satisfiesExpectedVersion('no_stream', v))).toEqual([true, false, false]);
    expect([0, 1, 5].map((v) => satisfiesExpectedVersion('stream_exists', v))).toEqual([false, true, true]);
    expect([0, 1, 5].map((v) => satisfiesExpectedVersion(5, v))).toEqual([false, false, true]);
  });
});
