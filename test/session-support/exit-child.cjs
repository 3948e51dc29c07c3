// A process that serves a few session requests, closes what the app opened, and then must
// exit on its own (nothing here calls process.exit). Run by test/session-exit.e2e-spec.ts:
//   node exit-child.cjs <express|nest> <RedisModule target as JSON, or '' for no Redis>
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { transformSync } = require('@swc/core');

// The kit's TypeScript sources, compiled as the Jest transform does.
require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require('reflect-metadata');

const SECRET = 'exit-child-secret-0123456789-abcdefghijklmnop';
const [kind, target] = process.argv.slice(2);
const redisTarget = target ? JSON.parse(target) : undefined;

function call(port, method, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { port, method, path, agent: false, headers: cookie ? { cookie } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200 && res.statusCode !== 201)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`));
          resolve({ cookie: res.headers['set-cookie']?.[0]?.split(';')[0] ?? cookie, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Logs in, reads, changes the session, logs out: the store, its counters and deadlines all run. */
async function traffic(port) {
  const { cookie } = await call(port, 'POST', '/login');
  const { body } = await call(port, 'GET', '/me', cookie);
  if (body !== 'u1') throw new Error(`GET /me answered ${body}, not the logged-in user`);
  await call(port, 'POST', '/set', cookie);
  await call(port, 'POST', '/logout', cookie);
}

async function express() {
  const { createClient, createCluster } = require('redis');
  const app = require('express')();
  const { sessionMiddleware } = require('../../src');
  const redis =
    redisTarget &&
    (redisTarget.url ? createClient(redisTarget) : createCluster(redisTarget.cluster));
  await redis?.connect();
  const sessions = sessionMiddleware(
    { secret: SECRET, cookie: { secure: false }, prefix: `t:exit:${process.pid}:` },
    redis,
  );
  app.use(sessions);
  app.post('/login', (req, res) =>
    req.session.regenerate(() => {
      req.session.userId = 'u1';
      res.end('ok');
    }),
  );
  app.get('/me', (req, res) => res.end(String(req.session.userId)));
  app.post('/set', (req, res) => {
    req.session.theme = 'dark';
    res.end('ok');
  });
  app.post('/logout', (req, res) => req.session.destroy(() => res.end('ok')));
  const server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  await traffic(server.address().port);
  // The documented way for plain Express: close the server, then the middleware, then the client.
  await new Promise((resolve) => server.close(resolve));
  await sessions.close();
  await redis?.close();
}

async function nest() {
  const { Controller, Module, Post, Get, Req } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { RedisModule, SessionModule, SessionService } = require('../../src');
  class Routes {
    constructor(sessions) {
      this.sessions = sessions;
    }
    login(req) {
      return this.sessions.create(req, { userId: 'u1' });
    }
    me(req) {
      return String(req.session.userId);
    }
    set(req) {
      return this.sessions.update(req, { theme: 'dark' });
    }
    logout(req) {
      return new Promise((resolve) => req.session.destroy(resolve));
    }
  }
  const param = (method) => Req()(Routes.prototype, method, 0);
  ['login', 'me', 'set', 'logout'].forEach(param);
  const route = (decorator, method) =>
    decorator(`/${method}`)(
      Routes.prototype,
      method,
      Object.getOwnPropertyDescriptor(Routes.prototype, method),
    );
  route(Post, 'login');
  route(Get, 'me');
  route(Post, 'set');
  route(Post, 'logout');
  Reflect.defineMetadata('design:paramtypes', [SessionService], Routes);
  Controller()(Routes);
  class AppModule {}
  Module({
    imports: [
      ...(redisTarget ? [RedisModule.forRoot(redisTarget)] : []),
      SessionModule.forRoot({
        secret: SECRET,
        cookie: { secure: false },
        prefix: `t:exit:${process.pid}:`,
      }),
    ],
    controllers: [Routes],
  })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0);
  await traffic(app.getHttpServer().address().port);
  await app.close();
}

(kind === 'nest' ? nest() : express()).then(
  () => console.log('closed'),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
