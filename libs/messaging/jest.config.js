module.exports = {
  displayName: 'messaging',
  preset: '../../jest.preset.js',
  // The integration specs run in band: what they leave running is named at the end, and does not hold up the run.
  globalTeardown: '<rootDir>/../../tools/jest/report-open-resources.js',
  forceExit: true,
  coverageDirectory: '../../coverage/libs/messaging',
};
