// The tools' end-to-end specs: they start built services (dist/apps), so they run in the
// `tools:e2e` target, after the builds, with `npm test`'s other end-to-end suites.
const base = require('./jest.config');

module.exports = { ...base, displayName: 'tools-e2e', testMatch: ['<rootDir>/**/*.e2e.spec.ts'], testPathIgnorePatterns: [], testTimeout: 120_000 };
