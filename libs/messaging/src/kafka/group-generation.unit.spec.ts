import { GroupGeneration } from './group-generation';

describe('GroupGeneration', () => {
  it('keeps a batch current until the member joins again, and a batch begun after that is current', () => {
    const generation = new GroupGeneration();
    const before = generation.begin();
    expect(before.isCurrent()).toBe(true);
    generation.advance();
    expect(before.isCurrent()).toBe(false);
    const after = generation.begin();
    expect(after.isCurrent()).toBe(true);
    expect(before.isCurrent()).toBe(false);
  });
});
