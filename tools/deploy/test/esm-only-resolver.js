// Jest resolver for the tools project: packages that publish only an `import` entry point
// (see tools/jest.config.js) resolve through it; everything else goes to the Nx resolver,
// which also maps the @platform/* paths of tsconfig.base.json.
const nxResolver = require('@nx/jest/plugins/resolver');

const ESM_ONLY_PACKAGES = ['kubernetes-models', '@kubernetes-models', 'is-cidr', 'cidr-regex'];
const ESM_ONLY = new RegExp(`^(${ESM_ONLY_PACKAGES.join('|')})(/|$)`);

function resolve(request, options) {
  if (ESM_ONLY.test(request)) return options.defaultResolver(request, { ...options, conditions: ['import', 'default'] });
  return nxResolver(request, options);
}

module.exports = Object.assign(resolve, { ESM_ONLY_PACKAGES });
