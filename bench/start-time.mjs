// `npm run bench:start`: how long `npm start` takes until the sample listens, measured from
// the spawn of `npm start` to its "listening on" log line: once cold (no dist-sample/, as
// after `npm install` in a fresh clone) and once warm (nothing changed since). Prints one line
// per start; exits 1 when a start misses START_LIMIT_MS (default 10000) or never listens.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const LIMIT_MS = Number(process.env.START_LIMIT_MS ?? 10_000);
const GIVE_UP_MS = 120_000;

const freePort = () =>
  new Promise((ok) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

async function start(label) {
  const port = await freePort();
  const began = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), REDIS_URL: '', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: npm, the build step and the app stop together
  });
  let output = '';
  try {
    return await new Promise((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${label}: no "listening on" within ${GIVE_UP_MS} ms\n${output}`)),
        GIVE_UP_MS,
      );
      const watch = (chunk) => {
        output += chunk;
        if (output.includes('listening on')) {
          clearTimeout(timer);
          ok(Math.round(performance.now() - began));
        }
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`${label}: npm start exited with ${code} before listening\n${output}`));
      });
    });
  } finally {
    child.removeAllListeners('exit');
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

rmSync(join(root, 'dist-sample'), { recursive: true, force: true });
let failed = false;
for (const label of ['cold (no dist-sample/)', 'warm (sources unchanged)']) {
  const ms = await start(label);
  const ok = ms <= LIMIT_MS;
  failed ||= !ok;
  console.log(`npm start → listening: ${ms} ms, ${label}${ok ? '' : ` (over ${LIMIT_MS} ms)`}`);
}
process.exitCode = failed ? 1 : 0;
