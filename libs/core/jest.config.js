module.exports = {
  displayName: 'core',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/core',
};
