const nxPreset = require('@nx/jest/preset').default;

// One transform for every project: ts-jest in transpile-only mode (isolatedModules in each
// tsconfig.spec.json); type errors are caught by the build and lint targets instead.
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
};
