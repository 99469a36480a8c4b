// kubernetes-models (and two of its dependencies) ship ES modules only, with an `import`
// export condition and no `require` one. Jest runs our specs as CommonJS, so those packages
// are resolved through their `import` entry and transpiled to CommonJS like our own code.
const { ESM_ONLY_PACKAGES } = require('./deploy/test/esm-only-resolver');
const ESM_ONLY = ESM_ONLY_PACKAGES.join('|');
const { ESM_FILES, ESM_PACKAGES } = require('./jest/esm-packages');

module.exports = {
  displayName: 'tools',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/**/*.spec.ts'],
  // End-to-end specs need the services built: jest.e2e.config.js runs them (tools:e2e).
  testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.spec\\.ts$'],
  resolver: '<rootDir>/deploy/test/esm-only-resolver.js',
  transform: {
    // The preset's ESM transform for @platformatic/kafka (behind @platform/messaging) and NestJS,
    // which this override would otherwise drop: every spec importing the messaging library failed to load.
    [ESM_FILES]: require.resolve('./jest/esm-to-cjs.js'),
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    [`/node_modules/(${ESM_ONLY})/.+\\.js$`]: ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${[ESM_ONLY, ...ESM_PACKAGES].join('|')})/)`],
  coverageDirectory: '../coverage/tools',
};
