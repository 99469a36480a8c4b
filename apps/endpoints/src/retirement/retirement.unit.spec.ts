import { decideRetirement, evolveRetirement, initialRetirementState, type RetirementCommand, type RetirementState } from './retirement';

const ownerId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const run = (commands: RetirementCommand[], state = initialRetirementState()): RetirementState => commands.reduce((s, c) => decideRetirement(c, s).reduce(evolveRetirement, s), state);

describe("a closure's retirement", () => {
  it('is decided once: retired or refused', () => {
    const retired = run([{ type: 'RecordRetirement', ownerId, apiIds: ['a', 'b'] }]);
    expect(retired).toEqual({ status: 'retired', apiIds: ['a', 'b'], reason: null });
    expect(() => decideRetirement({ type: 'RecordRefusal', ownerId, reason: 'x', apiIds: [] }, retired)).toThrow(/retired already/);
  });

  it('restores what it retired, once', () => {
    const restored = run([{ type: 'RecordRetirement', ownerId, apiIds: ['a'] }, { type: 'RecordRestoration', ownerId }]);
    expect(restored).toMatchObject({ status: 'restored', apiIds: ['a'] });
    expect(decideRetirement({ type: 'RecordRestoration', ownerId }, restored)).toEqual([]);
  });

  it('a restoration that comes first makes the retirement impossible', () => {
    const tombstone = run([{ type: 'RecordRestoration', ownerId }]);
    expect(tombstone.status).toBe('restored');
    expect(() => decideRetirement({ type: 'RecordRetirement', ownerId, apiIds: ['a'] }, tombstone)).toThrow(/restored already/);
  });
});
