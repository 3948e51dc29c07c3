// `npm run test:compat`: packs the build once and boots it from a Nest 11 app and a Nest 12
// app, each from a CommonJS and an ES module consumer, against a redis-server of its own.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const work = join(root, '.tmp', 'compat');
const run = (cmd, args, cwd, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });

const freePort = () =>
  new Promise((ok) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
run('npm', ['run', 'build'], root);
const tarball = execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root })
  .toString()
  .trim()
  .split('\n')
  .pop();

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
let failed = false;
try {
  for (const major of ['11', '12']) {
    const dir = join(work, `nest${major}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: `compat-nest${major}`,
        private: true,
        dependencies: {
          '@nestjs/common': `^${major}`,
          '@nestjs/core': `^${major}`,
          '@nestjs/platform-express': `^${major}`,
          'reflect-metadata': '^0.2.2',
          rxjs: '^7.8.1',
          'nestjs-llm-kit': `file:../${tarball}`,
        },
      }),
    );
    for (const file of ['consumer.cjs', 'consumer.mjs', 'scenario.cjs']) {
      copyFileSync(join(import.meta.dirname, file), join(dir, file));
    }
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    const env = { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` };
    for (const consumer of ['consumer.cjs', 'consumer.mjs']) {
      try {
        run(process.execPath, [consumer], dir, env);
      } catch {
        failed = true;
        console.error(`FAILED: ${consumer} on Nest ${major}`);
      }
    }
  }
} finally {
  redis.kill('SIGKILL');
}
process.exit(failed ? 1 : 0);
