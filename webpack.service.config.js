// Webpack configuration shared by the services: one bundle per service holding its code and
// the workspace libraries (@platform/*), third-party packages left as runtime dependencies in
// the generated package.json (what the Docker image installs). It lives at the root, outside
// every Nx project, so no service depends on a project whose build tools would join them.
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const nodeExternals = require('webpack-node-externals');
const { join } = require('path');

const root = __dirname;

module.exports = function serviceWebpackConfig(service) {
  return {
    output: {
      path: join(root, 'dist/apps', service),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    // npm workspaces link our libraries into node_modules; they must be bundled, not required.
    externals: [nodeExternals({ modulesDir: join(root, 'node_modules'), allowlist: [/^@platform\//] })],
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
        externalDependencies: 'none',
        mergeExternals: true,
      }),
    ],
  };
};
