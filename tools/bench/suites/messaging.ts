import type { BenchSuite } from '../bench';

// Placeholder until the messaging suite lands (issue 3); fails loudly rather than printing nothing.
const suite: BenchSuite = async () => {
  throw new Error('the messaging benchmark suite is not written yet');
};
export default suite;
