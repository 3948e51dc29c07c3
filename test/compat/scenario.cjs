// The app both consumers boot: every module of the kit on Redis, with decorators applied as
// plain calls since neither consumer is compiled. It must start, answer requests that go
// through each module, and shut down. On the platform COMPAT_PLATFORM names (Express unless
// `fastify`: the Fastify app has no @nestjs/platform-express).
const http = require('node:http');

function send(port, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: payload ? { 'content-type': 'application/json', ...headers } : headers,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function decorate(target, key, decorators) {
  Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key));
}

async function boot(nest, kit, flavour) {
  const { Module, Controller, Get, Post, Body, HttpCode, NestFactory } = nest;
  const { RedisModule, REDIS_CLIENT, CachingModule, ThrottlingModule, SessionModule, StatsModule } =
    kit;
  const { CacheLLM, LLMThrottle, Session } = kit;
  const prefix = `compat:${flavour}:${Date.now()}:`;

  class Routes {
    constructor(redis) {
      this.redis = redis;
    }
    async ping() {
      await this.redis.set(`${prefix}key`, flavour);
      return { redis: await this.redis.get(`${prefix}key`) };
    }
    generate(body) {
      return {
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `echo ${body.prompt}` },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      };
    }
    who(userId) {
      return { userId: userId ?? null };
    }
  }
  decorate(Routes.prototype, 'ping', [Get('ping')]);
  Body()(Routes.prototype, 'generate', 0);
  decorate(Routes.prototype, 'generate', [
    Post('generate'),
    HttpCode(200),
    CacheLLM(),
    LLMThrottle(),
  ]);
  Session('userId')(Routes.prototype, 'who', 0);
  decorate(Routes.prototype, 'who', [Get('who')]);
  Reflect.decorate([Controller()], Routes);
  Reflect.defineMetadata('self:paramtypes', [{ index: 0, param: REDIS_CLIENT }], Routes);

  class AppModule {}
  Reflect.decorate(
    [
      Module({
        imports: [
          RedisModule.forRoot({ url: process.env.REDIS_URL }),
          CachingModule.forRoot({
            keyPrefix: `${prefix}cache`,
            partitionSecret: 'compat-partition-secret-0123456789abcdef',
          }),
          ThrottlingModule.forRoot({ keyPrefix: `${prefix}rl` }),
          SessionModule.forRoot({
            secret: 'compat-session-secret-0123456789abcdefghij',
            prefix: `${prefix}sess:`,
          }),
          StatsModule.forRoot(),
        ],
        controllers: [Routes],
      }),
    ],
    AppModule,
  );

  const app =
    process.env.COMPAT_PLATFORM === 'fastify'
      ? await NestFactory.create(
          AppModule,
          new (require('@nestjs/platform-fastify').FastifyAdapter)(),
          { logger: false },
        )
      : await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const version = require('@nestjs/core/package.json').version;
  const fail = (what, res) => {
    throw new Error(
      `${flavour} on Nest ${version}: ${what}: ${res.status} ${JSON.stringify(res.headers)} ${res.text}`,
    );
  };
  try {
    const ping = await send(port, 'GET', '/ping');
    if (ping.status !== 200 || JSON.parse(ping.text).redis !== flavour) fail('RedisModule', ping);
    const miss = await send(port, 'POST', '/generate', { model: 'gpt-4o-mini', prompt: 'hi' });
    const hit = await send(port, 'POST', '/generate', { model: 'gpt-4o-mini', prompt: 'hi' });
    if (miss.headers['x-cache'] !== 'MISS' || hit.headers['x-cache'] !== 'HIT')
      fail('CachingModule', hit);
    if (!String(miss.headers['ratelimit-policy'] ?? '').includes('"llm"'))
      fail('ThrottlingModule', miss);
    const who = await send(port, 'GET', '/who');
    if (who.status !== 200 || JSON.parse(who.text).userId !== null) fail('SessionModule', who);
    const stats = await send(port, 'GET', '/stats/cache');
    if (stats.status !== 200 || JSON.parse(stats.text).hits < 1) fail('StatsModule', stats);
  } finally {
    await app.close();
  }
  console.log(
    `ok: ${flavour} consumer on Nest ${version}, ${process.env.COMPAT_PLATFORM ?? 'express'} (Redis, caching, throttling, sessions, stats)`,
  );
}

module.exports = { boot };
