import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { Controller, Get, Module, Post, Req, type INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisStore } from 'connect-redis';
import type { Request } from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { RedisModule, SessionModule, SessionService } from '../../src';
import { benchRedis, benchStoreTimeout, listen, PAYLOAD } from '../bench-app';
import type { BenchContext, BenchTarget, Scenario } from '../scenario';

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const WRITES = ['evalsha', 'eval', 'hset', 'pexpireat', 'expire', 'pexpire', 'set', 'zadd', 'del'];

type InfoClient = ReturnType<typeof createClient>;

/** Calls since the server started: every command, and the writes among them. */
async function commandCalls(redis: InfoClient): Promise<{ all: number; writes: number }> {
  const info = await redis.info('commandstats');
  const total = { all: 0, writes: 0 };
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (match[1] === 'info') continue; // this probe's own
    total.all += Number(match[2]);
    if (WRITES.includes(match[1]!)) total.writes += Number(match[2]);
  }
  return total;
}

let served = 0;

// On Fastify `req` is Fastify's request; its `session` (@fastify/session's) reads the same way.
@Controller()
class OursController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  async login(@Req() req: Request) {
    await this.sessions.create(req, { userId: 'bench-user' });
    return { ok: true };
  }

  // The same route shape as the raw one, so the table compares the session layers alone.
  @Get('read')
  read(@Req() req: Request) {
    served++;
    return { userId: req.session.userId, ...PAYLOAD };
  }
}

@Module({})
class OursModule {
  static register(url: string) {
    return {
      module: OursModule,
      imports: [
        RedisModule.forRoot(benchRedis(url)),
        SessionModule.forRoot({
          secret: SECRET,
          prefix: 'bench:ours:',
          cookie: { secure: false },
          ...benchStoreTimeout(),
        }),
      ],
      controllers: [OursController],
    };
  }
}

@Controller()
class RawController {
  @Post('login')
  login(@Req() req: Request) {
    req.session.userId = 'bench-user';
    return { ok: true };
  }

  @Get('read')
  read(@Req() req: Request) {
    served++;
    return { userId: req.session.userId, ...PAYLOAD };
  }
}

@Module({ controllers: [RawController] })
class RawModule {}

/**
 * Logs in once, then points the load at the read-only route with that cookie; prints the
 * Redis commands and writes per request (the kit: 1 HGETALL, no write within
 * touchIntervalMs; connect-redis: GET + EXPIRE).
 */
async function withSession(
  name: string,
  redisUrl: string,
  start: (cookieHeader: Record<string, string>) => Promise<BenchTarget>,
): Promise<BenchTarget> {
  const probe = await start({});
  const login = await fetch(probe.url.replace(/\/read$/, '/login'), { method: 'POST' });
  const cookie = login.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie) throw new Error(`${name}: login set no cookie`);
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const before = await commandCalls(redis);
  served = 0;
  return {
    ...probe,
    headers: { cookie },
    close: async () => {
      const after = await commandCalls(redis);
      const per = (n: number) => (n / Math.max(served, 1)).toFixed(3);
      process.stderr.write(
        `  ${name}: ${served} read-only requests, ${per(after.all - before.all)} Redis commands ` +
          `and ${per(after.writes - before.writes)} writes per request\n`,
      );
      redis.destroy();
      await probe.close();
    },
  };
}

/** A raw row's target on a node-redis client of its own (connect-redis'), closed with it. */
async function onOwnClient(
  redisUrl: string,
  start: (client: InfoClient) => Promise<BenchTarget>,
): Promise<BenchTarget> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  const target = await start(client);
  return {
    ...target,
    close: async () => {
      await target.close();
      client.destroy();
    },
  };
}

export const sessionScenarios: Scenario[] = [
  {
    name: 'session-raw',
    description: 'read-only session route, express-session + connect-redis defaults',
    start: (ctx) =>
      withSession('session-raw', ctx.redisUrl, () =>
        onOwnClient(ctx.redisUrl, (client) =>
          listen(
            RawModule,
            { path: '/read' },
            {
              configure: (app: INestApplication) => {
                app.use(
                  session({
                    store: new RedisStore({ client, prefix: 'bench:raw:' }),
                    secret: SECRET,
                    resave: false,
                    saveUninitialized: false,
                  }),
                );
              },
            },
          ),
        ),
      ),
  },
  {
    name: 'session',
    description: 'read-only session route, SessionModule: express-session + the kit store',
    compareTo: ['session-raw'],
    targets: [{ against: 'session-raw', min: 0.9 }],
    instructions: { peer: 'session-raw', max: 1.05 },
    start: (ctx) =>
      withSession(ctx.platform === 'fastify' ? 'session-fastify' : 'session', ctx.redisUrl, () =>
        listen(OursModule.register(ctx.redisUrl), { path: '/read' }, ctx),
      ),
  },
];

/**
 * The raw peer on Fastify: the ecosystem's session plugin (`@fastify/cookie` +
 * `@fastify/session`, whose store contract is express-session's) with connect-redis, the
 * plugin's defaults but `saveUninitialized: false` (as the Express row) and a cookie sent over
 * http. Its default `rolling: true` saves the session on every request.
 */
export const sessionRawFastify: Scenario = {
  name: 'session-raw-fastify',
  description: 'read-only session route, @fastify/session + connect-redis, on Fastify',
  start: (ctx: BenchContext) =>
    withSession('session-raw-fastify', ctx.redisUrl, () =>
      onOwnClient(ctx.redisUrl, (client) =>
        listen(
          RawModule,
          { path: '/read' },
          {
            platform: 'fastify',
            configure: async (app) => {
              const fastify = app as NestFastifyApplication;
              await fastify.register(fastifyCookie);
              await fastify.register(fastifySession, {
                store: new RedisStore({ client, prefix: 'bench:rawf:' }) as never,
                secret: SECRET,
                saveUninitialized: false,
                cookie: { secure: false },
              });
            },
          },
        ),
      ),
    ),
};
