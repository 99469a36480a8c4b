import { closeAt, validateWindowSpec, windowsFor } from './window-spec';

describe('windows', () => {
  const tumbling = validateWindowSpec({ kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'event' });
  const hopping = validateWindowSpec({ kind: 'hopping', sizeMs: 1000, advanceMs: 250, graceMs: 0, time: 'processing' });

  it('puts a timestamp in exactly one tumbling window, start inclusive, end exclusive', () => {
    expect(windowsFor(tumbling, 1_000)).toEqual([{ start: 1_000, end: 1_500 }]);
    expect(windowsFor(tumbling, 1_499)).toEqual([{ start: 1_000, end: 1_500 }]);
    expect(windowsFor(tumbling, 1_500)).toEqual([{ start: 1_500, end: 2_000 }]);
  });

  it('puts a timestamp in size/advance hopping windows', () => {
    expect(windowsFor(hopping, 1_100)).toEqual([
      { start: 250, end: 1_250 },
      { start: 500, end: 1_500 },
      { start: 750, end: 1_750 },
      { start: 1_000, end: 2_000 },
    ]);
  });

  it('is due grace after its end', () => {
    expect(closeAt(tumbling, { start: 1_000, end: 1_500 })).toBe(1_600);
    expect(closeAt(hopping, { start: 1_000, end: 2_000 })).toBe(2_000);
  });

  it('refuses impossible windows', () => {
    expect(() => validateWindowSpec({ kind: 'tumbling', sizeMs: 0, graceMs: 0, time: 'event' })).toThrow(/sizeMs/);
    expect(() => validateWindowSpec({ kind: 'hopping', sizeMs: 100, advanceMs: 200, graceMs: 0, time: 'event' })).toThrow(/advanceMs/);
    expect(() => validateWindowSpec({ kind: 'tumbling', sizeMs: 100, graceMs: -1, time: 'event' })).toThrow(/graceMs/);
  });
});
