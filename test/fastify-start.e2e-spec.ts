import { Controller, Get, Module, Post, Query, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Request } from 'express';
import request from 'supertest';
import {
  CacheLLM,
  CachingModule,
  LlmCallsModule,
  SessionModule,
  SessionService,
  ThrottlingModule,
} from '../src';
import { currentCallContext } from '../src/llm-calls/request-context';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// When an app on Fastify may touch its instance before app.init(): the kit adds its hooks and
// the session plugin in its modules' configure(), which Nest runs in app.init() before its
// routes. A plugin the app registers (awaited) before that is fine; an instance awaited ready()
// before that cannot take Nest's routes, nor the kit's hooks: the kit says what to do. These
// apps are on Fastify whatever the run's platform.

const PARTITION_SECRET = 'fastify-start-partition-secret-0123456789';

@Controller()
class AppController {
  constructor(private readonly sessions: SessionService) {}

  @Get('answer')
  @CacheLLM({ scope: 'global', params: (req) => req.query })
  answer(@Query('prompt') prompt: string) {
    return { choices: [{ message: { role: 'assistant', content: `echo ${prompt}` } }] };
  }

  @Post('login')
  async login(@Req() req: Request) {
    return { id: await this.sessions.create(req, { userId: 'u1' }) };
  }

  @Get('context')
  context(@Req() req: Request) {
    return { inRequest: currentCallContext()?.req === req };
  }
}

/** The README's modules (memory stores), on Fastify. */
@Module({
  imports: [
    CachingModule.forRoot({ partitionSecret: PARTITION_SECRET }),
    ThrottlingModule.forRoot({}),
    SessionModule.forRoot({ secret: TEST_SECRET, cookie: { secure: false } }),
    LlmCallsModule,
  ],
  controllers: [AppController],
})
class AppModule {}

@Controller()
class BareController {
  @Get('answer')
  answer() {
    return { ok: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

/** Creates the app on Fastify, runs `early` on it before app.init(), then starts it. */
async function start(
  module: unknown,
  early: (app: NestFastifyApplication) => PromiseLike<unknown>,
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module as never,
    new FastifyAdapter(),
    { logger: false, abortOnError: false },
  );
  try {
    await early(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

const readyEarly = (app: NestFastifyApplication) => app.getHttpAdapter().getInstance().ready();

describe('The kit on a Fastify instance the app touched before app.init()', () => {
  it('works after a plugin the app registered and awaited: 304, session cookie, call context', async () => {
    const seen: string[] = [];
    // A plugin whose hook runs for every route (what fastify-plugin marks), awaited.
    const plugin = async (instance: FastifyInstance) => {
      instance.addHook('onRequest', async (req: FastifyRequest) => {
        seen.push(req.url);
      });
    };
    const everyRoute = Object.assign(plugin, { [Symbol.for('skip-override')]: true });
    const app = await start(AppModule, (early) => early.register(everyRoute));
    try {
      const server = app.getHttpServer();
      const first = await request(server).get('/answer').query({ prompt: 'hi' }).expect(200);
      const revalidated = await request(server)
        .get('/answer')
        .query({ prompt: 'hi' })
        .set('If-None-Match', first.headers.etag!);
      expect([revalidated.status, revalidated.headers['x-cache'], revalidated.text]).toEqual([
        304,
        'HIT',
        '',
      ]);
      const login = await request(server).post('/login').expect(201);
      expect(sessionCookie(login, 'sid')).toBeDefined();
      const context = await request(server).get('/context').expect(200);
      expect(context.body).toEqual({ inRequest: true });
      expect(seen).toHaveLength(4);
    } finally {
      await app.close();
    }
  });

  it('fails at start-up, saying what to do, when the instance was awaited ready() before app.init()', async () => {
    await expect(start(AppModule, readyEarly)).rejects.toThrow(
      /on Fastify: the Fastify instance was already ready when app\.init\(\) ran.*Call ready\(\) after `await app\.init\(\)`/,
    );
    // Each of the kit's modules says so, whichever comes first.
    const caching = CachingModule.forRoot({ partitionSecret: PARTITION_SECRET });
    for (const [owner, imports] of [
      ['CachingModule', [caching]],
      ['SessionModule', [SessionModule.forRoot({ secret: TEST_SECRET })]],
      // Nest configures the modules in the order it found them: LlmCallsModule first here.
      ['LlmCallsModule', [LlmCallsModule, caching]],
    ] as const) {
      @Module({ imports: [...imports], controllers: [BareController] })
      class OneModule {}
      await expect(start(OneModule, readyEarly)).rejects.toThrow(
        `${owner} on Fastify: the Fastify instance was already ready`,
      );
    }
  });

  it('is what Fastify does to Nest itself: an app without the kit cannot start either', async () => {
    await expect(start(BareModule, readyEarly)).rejects.toMatchObject({
      code: 'AVV_ERR_ROOT_PLG_BOOTED',
    });
  });
});
