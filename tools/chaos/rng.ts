// The chaos run's seeded generator lives in libs/testing, shared with the crash tests.
export { newSeed, Rng } from '@platform/testing';
