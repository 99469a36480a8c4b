module.exports = {
  displayName: 'endpoints',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/endpoints',
};
