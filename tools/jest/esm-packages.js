// Packages (or npm scopes) that ship ES modules only, which Jest, running our specs as CommonJS,
// turns into CommonJS through esm-to-cjs.js; Node itself loads them as they are (require(esm)).
// Every package listed must be ES modules throughout: the transform would break a CommonJS file.
const ESM_PACKAGES = [
  '@platformatic', // @platformatic/kafka and its helpers
  '@nestjs', // NestJS 12: common, core, platform-express, swagger, typeorm, mapped-types, testing
  'jose', // JWT verification in @platform/service-kit, token signing in the console and tests
];

const pattern = ESM_PACKAGES.join('|');

module.exports = {
  ESM_PACKAGES,
  /** The `transform` key for their files. */
  ESM_FILES: `/node_modules/(${pattern})/.+\\.js$`,
  /** node_modules left untransformed: all but these. */
  IGNORE_ALL_BUT_ESM: `/node_modules/(?!(${pattern})/)`,
};
