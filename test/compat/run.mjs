// `npm run test:compat`: what a user gets from the packed tarball. Per app (Nest 11 with the
// TypeScript 5 its starter pins, Nest 12 with TypeScript 6, both on Express; and Nest 12 on
// Fastify as the Nest docs set it up: @nestjs/platform-fastify, no @nestjs/platform-express,
// with @fastify/session + @fastify/cookie), in a fresh app that installs the tarball and none of
// the optional peers (the apps' installs run side by side):
//   1. the public .d.ts name no type that the root does not export (public-types.mjs);
//   2. a strict type-check of the app and its spec with `skipLibCheck: false`;
//   3. the app's Jest e2e spec (test/compat/app): with the Nest starter's ts-jest config and
//      with @swc/jest on Redis, and with @swc/jest on the in-memory stores;
//   4. plain CommonJS and ES module consumers (consumer.cjs / consumer.mjs), no compiler.
// Everything runs against a redis-server of its own; each step prints its duration.
//
// The apps live outside the repository (os.tmpdir()): inside it, Node and TypeScript would
// find the repository's node_modules (optional peers included) by walking up.
//
//   COMPAT_NEST=12 npm run test:compat       only one major's apps
//   COMPAT_PLATFORM=fastify npm run test:compat  only one platform's apps
//   COMPAT_REUSE_DIST=1 npm run test:compat  pack the existing dist/ (CI has just built it)
//   COMPAT_REUSE_APPS=1 npm run test:compat  rerun the steps that depend on the Node version
//                                            (Jest, consumers) in the apps the last run
//                                            installed, e.g. under Node 22 and 24
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unexportedTypes } from './public-types.mjs';

const root = resolve(import.meta.dirname, '../..');
const here = import.meta.dirname;
const work = process.env.COMPAT_DIR ?? join(tmpdir(), 'nestjs-llm-kit-compat');
const majors = process.env.COMPAT_NEST?.split(',') ?? ['11', '12'];
const platforms = process.env.COMPAT_PLATFORM?.split(',') ?? ['express', 'fastify'];
/**
 * The consumer apps: `dir` under the work folder, the Nest major, the HTTP platform. Fastify on
 * the current major only (one install more, not two): what it adds is the platform's edge.
 */
const APPS = [
  { dir: 'nest11', major: '11', platform: 'express' },
  { dir: 'nest12', major: '12', platform: 'express' },
  { dir: 'nest12-fastify', major: '12', platform: 'fastify' },
].filter((app) => majors.includes(app.major) && platforms.includes(app.platform));
const reuseApps = Boolean(process.env.COMPAT_REUSE_APPS);
// @opentelemetry/api among them: without it the kit loads no OpenTelemetry code (issue 24).
const OPTIONAL_PEERS = [
  'prom-client',
  '@nestjs/swagger',
  'openai',
  '@anthropic-ai/sdk',
  'ai',
  '@opentelemetry/api',
];
const repoPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Each major's toolchain, as its Nest starter pins it. */
const TOOLCHAIN = {
  11: { typescript: '^5.7.3', jest: '^29.7.0', 'ts-jest': '^29.2.5', '@types/jest': '^29.5.14' },
  12: { typescript: '~6.0.3', jest: '^30.0.0', 'ts-jest': '^29.4.0', '@types/jest': '^30.0.0' },
};

/** The Nest starter's tsconfig, made strict and told to check the libraries' .d.ts too. */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    sourceMap: true,
    rootDir: './',
    outDir: './dist',
    strict: true,
    skipLibCheck: false,
    forceConsistentCasingInFileNames: true,
    types: ['node', 'jest'],
  },
  include: ['src', 'test'],
};

/** The @swc/jest transform of the kit's own suite (legacy decorators with metadata, like tsc). */
const SWC = createRequire(import.meta.url)('../../jest.config.js').projects[0].transform[
  '^.+\\.(t|j)s$'
];

/**
 * Which node_modules files Jest leaves untransformed, as the README tells users: on Express all
 * but Nest's; on Fastify also the ES-module-only packages that @nestjs/platform-fastify and the
 * session plugins load, nested in other packages' node_modules (path-to-regexp under
 * @fastify/middie, cookie under @fastify/cookie), and @fastify/cookie, whose import() of
 * cookie Jest's CommonJS runtime cannot run.
 */
const TRANSFORM_IGNORE = {
  express: '/node_modules/(?!@nestjs/)',
  fastify: '/node_modules/(?!(.*/node_modules/)?(@nestjs|@fastify/cookie|path-to-regexp|cookie)/)',
};

/**
 * The Nest starter's test/jest-e2e.json (`transform` by ts-jest or @swc/jest). With `esm`,
 * plus what Nest 12 needs when Jest cannot require ES modules (Node < 24.9), as the README
 * tells users: Nest's files (and on Fastify a few more) compiled to CommonJS too, by swc
 * (ts-jest cannot: `import.meta`).
 */
const jestConfig = (transform, esm, platform = 'express') => ({
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testEnvironment: 'node',
  testRegex: '.e2e-spec.ts$',
  transform: esm
    ? {
        '^.+\\.ts$': transform,
        '^.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }],
      }
    : { '^.+\\.(t|j)s$': transform },
  ...(esm ? { transformIgnorePatterns: [TRANSFORM_IGNORE[platform]] } : {}),
});

/** Whether this Node lets Jest 30 require ES modules itself (vm.SourceTextModule#hasAsyncGraph). */
const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number);
const jestRequiresEsm = nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 9);

const results = [];
const started = performance.now();
function step(name, fn) {
  const t = performance.now();
  let ok = true;
  try {
    fn();
  } catch (error) {
    ok = false;
    console.error(`FAILED: ${name}${error?.status === undefined ? `: ${error?.message}` : ''}`);
  }
  const seconds = ((performance.now() - t) / 1000).toFixed(1);
  results.push({ name, ok, seconds });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (${seconds} s)`);
  return ok;
}
const run = (cmd, args, cwd, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });

const freePort = () =>
  new Promise((ok) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

/** Builds (unless reused), checks the public types, packs; returns the tarball's file name. */
function pack() {
  if (!(process.env.COMPAT_REUSE_DIST && existsSync(join(root, 'dist', 'index.js')))) {
    step('build', () => run('npm', ['run', 'build'], root));
  }
  step('public .d.ts name only exported types', () => {
    const problems = unexportedTypes(root);
    for (const problem of problems) console.error(`  not exported: ${problem}`);
    if (problems.length) throw new Error(`${problems.length} type(s)`);
  });
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: root,
  })
    .toString()
    .trim()
    .split('\n')
    .pop();
  step('tarball holds LICENSE, README.md and dist/, no specs or sources', () => {
    const list = execFileSync('tar', ['-tzf', join(work, tarball)])
      .toString()
      .split('\n');
    for (const file of ['package/LICENSE', 'package/README.md', 'package/dist/index.d.ts']) {
      if (!list.includes(file)) throw new Error(`${file} missing`);
    }
    const extra = list.filter((file) => /\.spec\.|^package\/(src|test|sample)\//.test(file));
    if (extra.length) throw new Error(`unexpected files: ${extra.join(', ')}`);
  });
  step('peer ranges admit both SDK lines the suite tests (6.x and the current majors)', () => {
    // Installed name (the devDependency, or its alias for the current major) -> its peer.
    const lines = {
      ai: 'ai',
      'ai-v7': 'ai',
      openai: 'openai',
      'openai-v7': 'openai',
      '@anthropic-ai/sdk': '@anthropic-ai/sdk',
    };
    for (const [installed, peer] of Object.entries(lines)) {
      const manifest = join(root, 'node_modules', installed, 'package.json');
      const major = JSON.parse(readFileSync(manifest, 'utf8')).version.split('.')[0];
      // The peer ranges are caret ranges, one per major ("^6.0.0 || ^7.0.0").
      const range = repoPackage.peerDependencies[peer];
      const majors = range.split('||').map((part) => part.trim().replace(/^\^/, '').split('.')[0]);
      if (!majors.includes(major))
        throw new Error(`${peer} ${major}.x (${installed}) is outside the peer range ${range}`);
    }
  });
  return tarball;
}

/** Each platform's packages: the adapter, and on Fastify the session plugins the kit registers. */
const PLATFORM_PACKAGES = {
  express: (major) => ({
    dependencies: { '@nestjs/platform-express': `^${major}` },
    devDependencies: { '@types/express': '^5.0.0' },
  }),
  fastify: (major) => ({
    dependencies: {
      '@nestjs/platform-fastify': `^${major}`,
      '@fastify/cookie': repoPackage.peerDependencies['@fastify/cookie'],
      '@fastify/session': repoPackage.peerDependencies['@fastify/session'],
    },
    devDependencies: {},
  }),
};
const labelOf = (app) =>
  `Nest ${app.major}${app.platform === 'express' ? '' : ` on ${app.platform}`}`;

/** Writes one app: package.json, the shared app and its platform's files, configs. */
function write(app, dir, tarball) {
  const { major, platform } = app;
  mkdirSync(dir, { recursive: true });
  const extra = PLATFORM_PACKAGES[platform](major);
  const pkg = {
    name: `compat-${app.dir}`,
    private: true,
    dependencies: {
      '@nestjs/common': `^${major}`,
      '@nestjs/core': `^${major}`,
      ...extra.dependencies,
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.1',
      'nestjs-llm-kit': `file:../${tarball}`,
    },
    devDependencies: {
      ...TOOLCHAIN[major],
      '@nestjs/testing': `^${major}`,
      '@swc/core': repoPackage.devDependencies['@swc/core'],
      '@swc/jest': repoPackage.devDependencies['@swc/jest'],
      ...extra.devDependencies,
      '@types/node': '^20.19.0',
      '@types/supertest': '^6.0.2',
      supertest: '^7.0.0',
    },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  cpSync(join(here, 'app'), dir, { recursive: true });
  cpSync(join(here, 'platform', platform), dir, { recursive: true });
  for (const file of ['consumer.cjs', 'consumer.mjs', 'scenario.cjs']) {
    cpSync(join(here, file), join(dir, file));
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const esm = major !== '11';
  writeFileSync(join(dir, 'jest-ts.json'), JSON.stringify(jestConfig('ts-jest', esm, platform)));
  writeFileSync(join(dir, 'jest-swc.json'), JSON.stringify(jestConfig(SWC, esm, platform)));
  writeFileSync(join(dir, 'jest-starter.json'), JSON.stringify(jestConfig('ts-jest', false)));
}

/** `npm install` in `dir`, its output kept for the step that reports it; resolves to the exit code. */
function npmInstall(dir) {
  return new Promise((done) => {
    let output = '';
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const started = performance.now();
    child.on('close', (code) =>
      done({ code, output, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

/** After its install: the installed set is what a user of this platform gets; the type-check. */
function check(app, dir, install) {
  const label = labelOf(app);
  const installed = step(
    `${label}: npm install (the tarball, no optional peer; ${install.seconds.toFixed(1)} s side by side with the other apps)`,
    () => {
      process.stdout.write(install.output);
      if (install.code !== 0) throw new Error(`npm install exited with ${install.code}`);
    },
  );
  if (!installed) return false;
  step(`${label}: no optional peer installed, @types/express-session installed`, () => {
    const present = OPTIONAL_PEERS.filter((peer) => existsSync(join(dir, 'node_modules', peer)));
    if (present.length) throw new Error(`installed anyway: ${present.join(', ')}`);
    if (!existsSync(join(dir, 'node_modules', '@types', 'express-session', 'index.d.ts')))
      throw new Error('@types/express-session did not come with the kit');
  });
  if (app.platform === 'fastify')
    step(`${label}: @nestjs/platform-express not installed`, () => {
      if (existsSync(join(dir, 'node_modules', '@nestjs', 'platform-express')))
        throw new Error('@nestjs/platform-express was installed: the kit must not need it');
    });
  const typescript = join(dir, 'node_modules', 'typescript');
  const { version } = JSON.parse(readFileSync(join(typescript, 'package.json'), 'utf8'));
  step(`${label}: tsc ${version} --noEmit (strict, skipLibCheck: false)`, () =>
    run(process.execPath, [join(typescript, 'bin', 'tsc'), '--noEmit', '-p', '.'], dir),
  );
  return true;
}

/** The steps whose outcome depends on the Node version: the Jest spec and the consumers. */
function exercise(app, dir, redisUrl) {
  const { major } = app;
  const label = labelOf(app);
  const jest = join(dir, 'node_modules', 'jest', 'bin', 'jest.js');
  // [config file, what it is, with Redis]
  const runs = [
    ['ts', 'ts-jest, on Redis', true],
    // On Fastify the transforms are the Express apps' (checked there): one run per store.
    ...(app.platform === 'express' ? [['swc', '@swc/jest, on Redis', true]] : []),
    ['swc', '@swc/jest, no RedisModule (in-memory stores)', false],
  ];
  // Nest 12 where Jest can require ES modules itself (Node >= 24.9 with
  // --experimental-vm-modules): the starter's config exactly as it ships (for Nest 11 that is
  // what jest-ts.json already is).
  if (major !== '11' && jestRequiresEsm)
    runs.push([
      'starter',
      "the starter's unchanged ts-jest config, --experimental-vm-modules",
      true,
    ]);
  for (const [config, what, onRedis] of runs) {
    const env = {
      ...process.env,
      ...(config === 'starter' ? { NODE_OPTIONS: '--experimental-vm-modules' } : {}),
      REDIS_URL: onRedis ? redisUrl : '',
      COMPAT_RUN: `${major}-${config}-${Date.now()}`,
    };
    step(`${label}: Jest e2e spec with ${what}`, () =>
      run(process.execPath, [jest, '-c', `jest-${config}.json`, '--ci', '--runInBand'], dir, env),
    );
  }
  for (const consumer of ['consumer.cjs', 'consumer.mjs']) {
    const env = { ...process.env, REDIS_URL: redisUrl, COMPAT_PLATFORM: app.platform };
    step(`${label}: plain ${consumer}`, () => run(process.execPath, [consumer], dir, env));
  }
}

let tarball;
if (!reuseApps) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  tarball = pack();
}
const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((ok, fail) => {
  let out = '';
  redis.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('Ready to accept connections')) ok();
  });
  redis.once('exit', (code) => fail(new Error(`redis-server exited with ${code}`)));
});
try {
  const dirOf = (app) => join(work, app.dir);
  let ready = APPS;
  if (reuseApps) {
    ready = APPS.filter((app) =>
      step(`${labelOf(app)}: app installed by an earlier run`, () => {
        if (!existsSync(join(dirOf(app), 'node_modules')))
          throw new Error(`no ${dirOf(app)}/node_modules`);
      }),
    );
  } else {
    for (const app of APPS) write(app, dirOf(app), tarball);
    // The installs wait on the registry and the disk more than on the CPU: side by side.
    const installs = await Promise.all(APPS.map((app) => npmInstall(dirOf(app))));
    ready = APPS.filter((app, i) => check(app, dirOf(app), installs[i]));
  }
  for (const app of ready) exercise(app, dirOf(app), `redis://127.0.0.1:${port}`);
} finally {
  redis.kill('SIGKILL');
}
const failed = results.filter((result) => !result.ok);
const total = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `test:compat on Node ${process.version}: ${results.length - failed.length}/${results.length} steps passed in ${total} s`,
);
process.exit(failed.length ? 1 : 0);
