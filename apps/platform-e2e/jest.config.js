module.exports = {
  displayName: 'platform-e2e',
  preset: '../../jest.preset.js',
  // The integration specs run in band: what they leave running is named at the end, and does not hold up the run.
  globalTeardown: '<rootDir>/../../tools/jest/report-open-resources.js',
  forceExit: true,
  coverageDirectory: '../../coverage/apps/platform-e2e',
  testTimeout: 120_000,
};
