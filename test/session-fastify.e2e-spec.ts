import { Controller, Get, Module, Post, Req } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import request from 'supertest';
import { RedisModule, SessionModule, type SessionModuleOptions, SessionService } from '../src';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// What only Fastify has: SessionModule registers @fastify/cookie + @fastify/session itself and
// refuses at start-up what they cannot do; its cookie is express-session's, so a session
// started on Express goes on on Fastify (the same Redis). These apps are on Fastify (and one on
// Express) whatever the run's platform.

const HTTPS = { 'X-Forwarded-Proto': 'https' };

@Controller()
class AuthController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  async login(@Req() req: Request) {
    return { id: await this.sessions.create(req, { userId: 'u1' }) };
  }

  @Get('me')
  me(@Req() req: Request) {
    return { userId: this.sessions.get(req)?.userId ?? null };
  }
}

function appModule(options: Partial<SessionModuleOptions>) {
  @Module({
    imports: [
      RedisModule.forRoot(testRedisOptions()),
      SessionModule.forRoot({ secret: TEST_SECRET, ...options }),
    ],
    controllers: [AuthController],
  })
  class AppModule {}
  return AppModule;
}

async function fastifyApp(options: Partial<SessionModuleOptions> = {}) {
  const moduleRef = await Test.createTestingModule({ imports: [appModule(options)] }).compile();
  const app = moduleRef.createNestApplication(new FastifyAdapter({ trustProxy: true }), {
    logger: false,
  });
  try {
    await app.init();
  } catch (error) {
    await app.close();
    throw error;
  }
  await (app.getHttpAdapter().getInstance() as { ready(): PromiseLike<unknown> }).ready();
  return app;
}

describe('SessionModule on Fastify', () => {
  it('refuses at start-up a secret shorter than @fastify/session accepts, saying what to do', async () => {
    await expect(fastifyApp({ secret: 'a-secret-of-31-characters-abcde' })).rejects.toThrow(
      /@fastify\/session needs every secret to be at least 32 characters, and secret has 31: generate one with/,
    );
    await expect(fastifyApp({ secret: [TEST_SECRET, 'short-old-secret'] })).rejects.toThrow(
      /and secret\[1\] has 16/,
    );
  });

  it('refuses at start-up, during init(), when @fastify/session or @fastify/cookie is not installed', async () => {
    for (const missing of ['@fastify/session', '@fastify/cookie']) {
      let failure: unknown;
      await jest.isolateModulesAsync(async () => {
        jest.doMock(missing, () => {
          const error = Object.assign(new Error(`Cannot find module '${missing}'`), {
            code: 'MODULE_NOT_FOUND',
          });
          throw error;
        });
        // The app and the kit as loaded without the package (Nest from the same registry).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const kit = require('../src') as { SessionModule: typeof SessionModule };
        const nest = await import('@nestjs/common');
        const core = await import('@nestjs/core');
        const platform = await import('@nestjs/platform-fastify');
        class AppModule {}
        nest.Module({ imports: [kit.SessionModule.forRoot({ secret: TEST_SECRET })] })(AppModule);
        const app = await core.NestFactory.create(AppModule, new platform.FastifyAdapter(), {
          logger: false,
          abortOnError: false,
        });
        failure = await app.init().then(
          () => undefined,
          (error: unknown) => error,
        );
        await app.close();
      });
      jest.dontMock(missing);
      expect(String(failure)).toContain(
        `and ${missing} is not installed: \`npm install @fastify/session @fastify/cookie\`.`,
      );
    }
  });

  it("reads express-session's cookie: a session started on Express goes on on Fastify", async () => {
    const prefix = uniquePrefix('sess-fx');
    const moduleRef = await Test.createTestingModule({
      imports: [appModule({ prefix })],
    }).compile();
    const express = moduleRef.createNestApplication({ logger: false });
    (express as unknown as { set(k: string, v: unknown): void }).set('trust proxy', 'loopback');
    await express.init();
    const fastify = await fastifyApp({ prefix });
    const login = await request(express.getHttpServer()).post('/login').set(HTTPS).expect(201);
    const cookie = sessionCookie(login)!;
    const me = await request(fastify.getHttpServer()).get('/me').set(HTTPS).set('Cookie', cookie);
    expect(me.body).toEqual({ userId: 'u1' });
    // And back: Fastify's cookie is the same format (not URL-encoded by @fastify/cookie).
    const again = await request(fastify.getHttpServer()).post('/login').set(HTTPS).expect(201);
    const back = await request(express.getHttpServer())
      .get('/me')
      .set(HTTPS)
      .set('Cookie', sessionCookie(again)!);
    expect(back.body).toEqual({ userId: 'u1' });
    await Promise.all([express.close(), fastify.close()]);
  });
});
