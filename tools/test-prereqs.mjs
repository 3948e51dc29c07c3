// `npm test`'s pretest: what the tests need that npm does not install, checked before any test
// runs. A redis-server binary (the specs that stop and restart Redis start servers of their own,
// even with REDIS_URL set) and a Chromium for the dashboard test (CHROMIUM_PATH, default /usr/bin/chromium). When one is
// missing: as root with apt-get, it installs Debian's packages; otherwise it exits 1 with one
// line naming the command to run. No test is ever skipped for a missing tool.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const runs = (command, args) => {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const redisBinary = () =>
  [
    process.env.REDIS_SERVER_BIN,
    'redis-server',
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
  ]
    .filter(Boolean)
    .some((candidate) => runs(candidate, ['--version']));

function missing() {
  const packages = [];
  if (!redisBinary()) packages.push('redis-server');
  if (!existsSync(chromium)) packages.push('chromium');
  return packages;
}

let packages = missing();
if (packages.length === 0) process.exit(0);

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = runs('apt-get', ['--version']);
// Only Debian's package lands at /usr/bin/chromium: a CHROMIUM_PATH elsewhere is not ours to fill.
const installable = packages.every((p) => p !== 'chromium' || chromium === '/usr/bin/chromium');
if (root && hasApt && installable) {
  console.error(`npm test: installing ${packages.join(' ')} (apt-get, Debian's packages)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  packages = missing();
  if (packages.length === 0) process.exit(0);
}

const command = hasApt
  ? `${root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`
  : [
      packages.includes('redis-server') && 'brew install redis',
      packages.includes('chromium') && `set CHROMIUM_PATH to a Chrome or Chromium binary`,
    ]
      .filter(Boolean)
      .join(', and ');
console.error(
  `npm test needs ${packages.join(' and ')} (missing, no test was run): ${command}` +
    (packages.includes('chromium') ? ` (or set CHROMIUM_PATH; now ${chromium})` : ''),
);
process.exit(1);
