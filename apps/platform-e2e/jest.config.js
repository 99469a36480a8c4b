module.exports = {
  displayName: 'platform-e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/platform-e2e',
  testTimeout: 120_000,
};
