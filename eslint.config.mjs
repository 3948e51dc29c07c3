import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The dependency directions of src/ (DESIGN.md "Layout"): llm-calls/ -> caching/, throttling/,
// session/, stats/ -> llm/, common/, redis/. Never back up, never sideways: a feature meets
// another only through a token in common/ (as the cache probe does).
const FEATURES = ['caching', 'throttling', 'session', 'stats'];
const FOUNDATION = ['llm', 'common', 'redis', 'telemetry'];
const dir = (name) => `./src/${name}`;
const zones = [
  ...[...FEATURES, ...FOUNDATION].map((target) => ({
    target: dir(target),
    from: dir('llm-calls'),
    message: 'llm-calls/ is the top layer: nothing but src/index.ts imports it.',
  })),
  ...FOUNDATION.map((target) => ({
    target: dir(target),
    from: FEATURES.map(dir),
    message:
      'llm/, common/, redis/ and telemetry/ sit below every feature: move the shared part down.',
  })),
  ...FEATURES.map((target) => ({
    target: dir(target),
    from: FEATURES.filter((from) => from !== target).map(dir),
    message: 'A feature meets another only through a token in common/.',
  })),
];

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'dist-sample',
      'coverage',
      '.tmp',
      // A consumer app of the packed tarball: test:compat type-checks it in a project of its own.
      'test/compat/app',
      'test/compat/platform',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The import graph of the package: no cycle (a runtime import that comes back to its
    // file), and dependencies only in the directions above (type-only imports included).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
);
