module.exports = {
  displayName: 'templates',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/templates',
};
