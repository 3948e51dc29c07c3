// Three projects: the unit specs once, and the whole e2e suite twice, on a standalone
// redis-server and on a 3-master Redis Cluster (REDIS_TEST_MODE, read by test/support/test-redis.ts).
// Run one with `npx jest --selectProjects e2e-cluster`.

const common = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2023',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  // test/compat/app is a consumer app of the packed tarball: test:compat runs its spec there.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/compat/', '<rootDir>/.tmp/'],
};

/** The e2e specs on one kind of Redis; its global setup runs only when the project has tests to run. */
const e2e = (mode, extra) => ({
  ...common,
  displayName: `e2e-${mode}`,
  testRegex: ['test/.*\\.e2e-spec\\.ts$'],
  globals: { REDIS_TEST_MODE: mode },
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testRegex: ['src/.*\\.spec\\.ts$'] },
    e2e('standalone', {
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    }),
    e2e('cluster', {
      globalSetup: '<rootDir>/test/support/global-setup-cluster.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown-cluster.ts',
      // Fails the test during which any master answered CROSSSLOT.
      setupFilesAfterEnv: ['<rootDir>/test/support/cross-slot.guard.ts'],
    }),
  ],
  testTimeout: 30000,
  // Specs start servers and clusters: one file at a time (the CI machine has 2 cores).
  maxWorkers: 1,
};
