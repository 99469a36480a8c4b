// kubernetes-models (and two of its dependencies) ship ES modules only, with an `import`
// export condition and no `require` one. Jest runs our specs as CommonJS, so those packages
// are resolved through their `import` entry and transpiled to CommonJS like our own code.
const { ESM_ONLY_PACKAGES } = require('./deploy/test/esm-only-resolver');
const ESM_ONLY = ESM_ONLY_PACKAGES.join('|');

module.exports = {
  displayName: 'tools',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/**/*.spec.ts'],
  resolver: '<rootDir>/deploy/test/esm-only-resolver.js',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    [`/node_modules/(${ESM_ONLY})/.+\\.js$`]: ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY})/)`],
  coverageDirectory: '../coverage/tools',
};
