import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { testRedisOptions } from './support/test-redis';

// Nothing the session middleware or SessionModule starts keeps the process alive: a process
// that served sessions and closed what it opened (the server, `sessionMiddleware().close()`
// or `app.close()`, its Redis client) exits by itself. Each case runs in a child process.

const CHILD = join(__dirname, 'session-support', 'exit-child.cjs');
/** Bound on the child's whole run (it takes a few seconds; the machine is shared). */
const DEADLINE_MS = 60_000;

function run(kind: 'express' | 'nest', redis: boolean) {
  return new Promise<{ code: number | null; killed: boolean; out: string }>((resolve) => {
    const target = redis ? JSON.stringify(testRedisOptions()) : '';
    const child = spawn(process.execPath, [CHILD, kind, target], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, NODE_ENV: 'test' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, out });
    });
  });
}

describe('the session middleware lets the process exit', () => {
  it.each([
    [
      'plain Express, sessionMiddleware() in memory, then server.close() and close()',
      'express',
      false,
    ],
    [
      'plain Express, sessionMiddleware() on Redis, then close() and the client closed',
      'express',
      true,
    ],
    ['SessionModule in memory, then app.close()', 'nest', false],
    ['SessionModule on Redis (RedisModule), then app.close()', 'nest', true],
  ] as const)(
    '%s: exits by itself',
    async (_name, kind, redis) => {
      const { code, killed, out } = await run(kind, redis);
      expect({ killed, code, closed: out.includes('closed') }).toEqual({
        killed: false,
        code: 0,
        closed: true,
      });
    },
    DEADLINE_MS + 10_000,
  );
});
