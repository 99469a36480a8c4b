module.exports = {
  displayName: 'users',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/users',
};
