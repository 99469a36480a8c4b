module.exports = {
  displayName: 'event-store',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/event-store',
};
