import nx from '@nx/eslint-plugin';

const boundaries = (extra) => [
  'error',
  {
    enforceBuildableLibDependency: true,
    allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:infra', 'type:service-kit', ...extra] },
      { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:infra', 'type:testing'] },
      { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:infra', 'type:service-kit', 'type:testing'] },
      { sourceTag: 'type:service-kit', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:infra', ...extra] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', ...extra] },
      // The ports every library shares (SQL client, migrations, logging): nothing of ours below them.
      { sourceTag: 'type:core', onlyDependOnLibsWithTags: [...extra] },
      {
        sourceTag: 'type:contracts',
        onlyDependOnLibsWithTags: [...extra],
        // class-transformer's metadata storage (compiled-validation.ts); fast-check in its specs.
        allowedExternalImports: ['class-validator', 'class-transformer', 'class-transformer/cjs/storage', 'class-transformer/types/storage', 'fast-check'],
      },
    ],
  },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc', '**/node_modules', '.kafka/**', '.run/**'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs', '**/*.cts'],
    rules: {
      // The architecture, enforced: apps import only libs, libs never import apps, and
      // libs/contracts imports nothing of ours and no npm package but the validation libraries.
      '@nx/enforce-module-boundaries': boundaries([]),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // Build configuration, not runtime code: the services share one webpack setup from tools/.
    files: ['**/webpack.config.js'],
    rules: { '@nx/enforce-module-boundaries': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests (and only tests) may use the real-infrastructure harness in libs/testing.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:testing']), '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
