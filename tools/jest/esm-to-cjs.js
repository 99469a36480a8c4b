// Jest loads test code as CommonJS; the packages of esm-packages.js (@platformatic/kafka, NestJS 12, jose)
// ship as ES modules only. This turns them into CommonJS for Jest (Node itself loads them as they
// are): babel's module transform, after a first pass that gives the ES module what CommonJS lacks.
const { transformSync, transformFromAstSync, template } = require('@babel/core');
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');

const self = readFileSync(__filename);

// import.meta.* as CommonJS has them, from the file's own path.
const IMPORT_META = {
  url: () => template.expression.ast("'file://' + encodeURI(__filename)"),
  filename: () => template.expression.ast('__filename'),
  dirname: () => template.expression.ast('__dirname'),
};

/**
 * An ES module has no `require` of its own, so any it names is one it declared (createRequire) or
 * one it probes for (`typeof require`): renamed, to stay clear of the requires the module
 * transform adds and to keep such probes answering as they do in an ES module. Identifiers only:
 * a path such as './helpers/optional-require.js' is left as it is.
 */
function esModuleAsCommonJs() {
  return {
    visitor: {
      Identifier(path) {
        if (path.node.name !== 'require') return;
        if (path.parentPath.isMemberExpression({ property: path.node, computed: false })) return;
        if (path.parentPath.isObjectProperty({ key: path.node, computed: false }) && !path.parentPath.node.shorthand) return;
        if (path.parentPath.isObjectMethod({ key: path.node }) || path.parentPath.isClassMethod({ key: path.node })) return;
        path.node.name = '__esmRequire';
      },
      MetaProperty(path) {
        if (path.node.meta.name !== 'import') return;
        const member = path.parentPath;
        const name = member.isMemberExpression() && !member.node.computed ? member.node.property.name : undefined;
        if (IMPORT_META[name]) member.replaceWith(IMPORT_META[name]());
      },
    },
  };
}

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha1').update(self).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const options = { filename, babelrc: false, configFile: false, sourceType: 'module' };
    const first = transformSync(source, { ...options, ast: true, code: false, plugins: [esModuleAsCommonJs] });
    const result = transformFromAstSync(first.ast, source, {
      ...options,
      sourceMaps: 'inline',
      plugins: [
        require.resolve('@babel/plugin-transform-export-namespace-from'),
        // import() as a require: Jest runs the result as a script, which has no dynamic import.
        require.resolve('@babel/plugin-transform-dynamic-import'),
        require.resolve('@babel/plugin-transform-modules-commonjs'),
      ],
    });
    return { code: result.code };
  },
};
