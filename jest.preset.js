const nxPreset = require('@nx/jest/preset').default;
const { ESM_FILES, IGNORE_ALL_BUT_ESM } = require('./tools/jest/esm-packages');

// One transform for every project: ts-jest in transpile-only mode (isolatedModules in each
// tsconfig.spec.json); type errors are caught by the build and lint targets instead.
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    [ESM_FILES]: require.resolve('./tools/jest/esm-to-cjs.js'),
  },
  transformIgnorePatterns: [IGNORE_ALL_BUT_ESM],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
};
