import type { BenchSuite } from '../bench';

// Placeholder until the event-store suite lands (issue 4); fails loudly rather than printing nothing.
const suite: BenchSuite = async () => {
  throw new Error('the event-store benchmark suite is not written yet');
};
export default suite;
