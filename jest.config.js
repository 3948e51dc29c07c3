// The unit specs once; the whole e2e suite on a standalone redis-server; the specs that talk to
// Redis again on a 3-master Redis Cluster (REDIS_TEST_MODE, read by test/support/test-redis.ts);
// the HTTP-facing e2e specs again on Fastify (TEST_PLATFORM=fastify, read by
// test/support/platform.ts): all of them on the standalone server, a few on the cluster;
// and, on Node >= 22, the LLM-call specs once more against the current SDK majors (ai 7,
// @ai-sdk/openai 4, openai 7: they need Node 22). Run one with `npx jest --selectProjects e2e-cluster`.

/** The Fastify platform and the session plugins the kit registers on it. */
const FASTIFY_PACKAGES = ['@nestjs/platform-fastify', '@fastify/session', '@fastify/cookie'];
/**
 * Jest's transformIgnorePatterns: Nest's packages and the ES-module-only ones `roots` load, at
 * the top of node_modules or nested in another package's (@fastify/middie/node_modules/...).
 */
const transformedFrom = (roots) => [
  `/node_modules/(?!((@[^/]+/)?[^/]+/node_modules/)*(@nestjs/|${[...IMPORT_CALLERS, ...esmOnlyPackages(roots)].join('|')}))`,
];
/** CommonJS packages that load an ES module with import(), which Jest's runtime cannot run. */
const IMPORT_CALLERS = ['@fastify/cookie/'];

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
  // Nest's packages, and the ES-module-only packages the Fastify platform and its session plugins
  // load (path-to-regexp under @fastify/middie, cookie under @fastify/cookie...), compiled to
  // CommonJS for Jest's runtime on Node 20.
  transformIgnorePatterns: transformedFrom(FASTIFY_PACKAGES),
  // test/compat/app is a consumer app of the packed tarball: test:compat runs its spec there.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/compat/', '<rootDir>/.tmp/'],
};

/**
 * e2e specs that never reach Redis (in-memory stores, the sample with memory stores, pure HTTP
 * shapes): the cluster project does not run them again, their behaviour does not depend on the
 * kind of Redis. test/support/redis-use.guard.ts fails any of them that opens a Redis connection,
 * so a change that makes one reach Redis is seen (and the spec leaves this list).
 */
const NO_REDIS_SPECS = require('./test/support/no-redis-specs.json');

/**
 * e2e specs the Fastify projects skip: those that exist only on Express (they test
 * express-session or another Express-only peer itself), and those that start no Nest HTTP app
 * (stores, scripts, RedisModule: the platform cannot change them).
 * test/support/platform-use.guard.ts fails a spec of a Fastify project that started no app on
 * FastifyAdapter, and a spec of no-http-specs.json that started an HTTP app.
 */
const EXPRESS_ONLY_SPECS = require('./test/support/express-only-specs.json');
const NO_HTTP_SPECS = require('./test/support/no-http-specs.json');
/**
 * e2e specs the Express projects skip: they test a Fastify-only peer itself (@fastify/passport)
 * and start their apps on FastifyAdapter whatever the run's platform.
 */
const FASTIFY_ONLY_SPECS = require('./test/support/fastify-only-specs.json');

/**
 * The Fastify x cluster specs: where what the platform hands the flows becomes Redis keys and
 * multi-key scripts (the session plugin's calls into the kit's store, the rate-limit tracker,
 * the cache's user partition, three sample instances sharing one cluster). Elsewhere the keys
 * are built by the same flows from the same values on both platforms, and the Express cluster
 * run already checks them (docs/testing.md, "The platform axis").
 */
const FASTIFY_CLUSTER_SPECS = [
  'test/session.e2e-spec.ts',
  'test/session-sample-login.e2e-spec.ts',
  'test/throttling-trackers.e2e-spec.ts',
  'test/caching-scope.e2e-spec.ts',
  'test/multi-instance.e2e-spec.ts',
];

const ignored = (specs) => specs.map((spec) => `<rootDir>/${spec}$`);

/** The e2e specs on one kind of Redis; its global setup runs only when the project has tests to run. */
const e2e = (mode, extra) => ({
  ...common,
  displayName: `e2e-${mode}`,
  testRegex: ['test/.*\\.e2e-spec\\.ts$'],
  globals: { REDIS_TEST_MODE: mode },
  ...extra,
});

const standalone = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
const cluster = {
  globalSetup: '<rootDir>/test/support/global-setup-cluster.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown-cluster.ts',
};

/** The same e2e projects with every app on FastifyAdapter (Jest runs a shared globalSetup once). */
const fastify = (project) => ({
  ...project,
  displayName: `${project.displayName}-fastify`,
  setupFiles: ['<rootDir>/test/support/fastify-platform.setup.ts'],
  testPathIgnorePatterns: [
    ...(project.testPathIgnorePatterns ?? common.testPathIgnorePatterns),
    ...ignored([...EXPRESS_ONLY_SPECS, ...NO_HTTP_SPECS]),
  ],
  setupFilesAfterEnv: [
    ...(project.setupFilesAfterEnv ?? []),
    '<rootDir>/test/support/platform-use.guard.ts',
  ],
});

/**
 * The current SDK majors, installed beside the 6.x line under alias names (package.json:
 * `ai-v7`, `ai-sdk-openai-v4`, `openai-v7`; `@anthropic-ai/sdk` 1 is the same in both). The
 * mapper swaps them in for every import, the sample's and the test apps' included.
 */
const CURRENT_SDKS = {
  '^ai$': 'ai-v7',
  '^@ai-sdk/openai$': 'ai-sdk-openai-v4',
  '^openai$': 'openai-v7',
  '^openai/(.*)$': 'openai-v7/$1',
};
const nodeMajor = Number(process.versions.node.split('.')[0]);
/**
 * ai 7, @ai-sdk/openai 4, @nestjs/platform-fastify and several of their dependencies are ES
 * modules only (path-to-regexp under @fastify/middie, cookie under @fastify/cookie...). Node loads
 * them with require(esm); Jest's CommonJS runtime does not (without --experimental-vm-modules),
 * so swc compiles them to CommonJS: these are the ES-module-only packages among what the roots
 * depend on. (Node's own require(esm) of them is what test:compat's consumers run.)
 */
function esmOnlyPackages(roots) {
  const { existsSync } = require('node:fs');
  const { dirname, join } = require('node:path');
  const found = new Set();
  const seen = new Set();
  const visit = (name, from) => {
    // Node's lookup of a package folder (node_modules up from `from`), not through `exports`.
    let manifest;
    for (let dir = from; !manifest; dir = dirname(dir)) {
      const file = join(dir, 'node_modules', name, 'package.json');
      if (existsSync(file)) manifest = file;
      else if (dirname(dir) === dir) break;
    }
    if (!manifest) return; // an optional peer that is not installed
    if (seen.has(manifest)) return;
    seen.add(manifest);
    const pkg = require(manifest);
    if (pkg.type === 'module') found.add(name);
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }))
      visit(dep, dirname(manifest));
  };
  for (const root of roots) visit(root, __dirname);
  return [...found].map((name) => join(name, '/').replaceAll('\\', '/'));
}

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testRegex: ['src/.*\\.spec\\.ts$'] },
    e2e('standalone', {
      ...standalone,
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, ...ignored(FASTIFY_ONLY_SPECS)],
      setupFilesAfterEnv: [
        '<rootDir>/test/support/redis-use.guard.ts',
        '<rootDir>/test/support/platform-use.guard.ts',
      ],
    }),
    e2e('cluster', {
      ...cluster,
      testPathIgnorePatterns: [
        ...common.testPathIgnorePatterns,
        ...ignored([...NO_REDIS_SPECS, ...FASTIFY_ONLY_SPECS]),
      ],
      // Fails the test during which any master answered CROSSSLOT.
      setupFilesAfterEnv: ['<rootDir>/test/support/cross-slot.guard.ts'],
    }),
    fastify(e2e('standalone', standalone)),
    fastify(
      e2e('cluster', {
        ...cluster,
        testRegex: FASTIFY_CLUSTER_SPECS.map((spec) => `${spec.replaceAll('.', '\\.')}$`),
        setupFilesAfterEnv: ['<rootDir>/test/support/cross-slot.guard.ts'],
      }),
    ),
    ...(nodeMajor >= 22
      ? [
          e2e('standalone', {
            ...standalone,
            displayName: 'llm-calls-current-sdks',
            testRegex: ['test/llm-calls-.*\\.e2e-spec\\.ts$'],
            moduleNameMapper: CURRENT_SDKS,
            setupFiles: ['<rootDir>/test/support/current-sdks.check.ts'],
            transformIgnorePatterns: transformedFrom([
              ...FASTIFY_PACKAGES,
              'ai-v7',
              'ai-sdk-openai-v4',
            ]),
          }),
        ]
      : []),
  ],
  testTimeout: 30000,
  // Specs start servers and clusters: one file at a time within a Jest process; `npm test`
  // (tools/test-lanes.mjs) runs four such processes side by side.
  maxWorkers: 1,
};
