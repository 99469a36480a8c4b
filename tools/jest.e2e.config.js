// The tools' end-to-end specs: they start built services (dist/apps), so they run in the
// `tools:e2e` target, after the builds, with `npm test`'s other end-to-end suites.
const base = require('./jest.config');

module.exports = {
  ...base,
  displayName: 'tools-e2e',
  testMatch: ['<rootDir>/**/*.e2e.spec.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 120_000,
  // Run in band: what the specs leave running is named at the end, and does not hold up the run.
  globalTeardown: '<rootDir>/jest/report-open-resources.js',
  forceExit: true,
};
