import { execFileSync } from 'node:child_process';

export const INSTALL_HINT =
  'The Redis specs need a real redis-server. Install it (Debian/Ubuntu: `apt-get install -y redis-server`, ' +
  'macOS: `brew install redis`), or set REDIS_SERVER_BIN to its path, or set REDIS_URL to a server the tests may use.';

/** Path of the redis-server binary, or undefined when there is none. */
export function findRedisBinary(): string | undefined {
  const candidates = [
    process.env.REDIS_SERVER_BIN,
    'redis-server',
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
