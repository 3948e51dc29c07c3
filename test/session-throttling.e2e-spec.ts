import { Controller, Get, Module, Post, Req } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import request from 'supertest';
import { RedisModule, SessionModule, SessionService, ThrottlingModule } from '../src';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { sessionCookie, TEST_SECRET, trustLoopbackProxy } from './session-support/session-test-app';
import { startTestApp } from './support/platform';

@Controller()
class LimitedController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  async login(@Req() req: Request) {
    await this.sessions.create(req, { userId: 'u1' });
    return { ok: true };
  }

  @Get('work')
  work() {
    return { ok: true };
  }
}

describe("ThrottlingModule's session tracker on the platform's real session plugin", () => {
  it('limits anonymous clients like by IP, and a logged-in session on its own', async () => {
    @Module({
      imports: [
        RedisModule.forRoot(testRedisOptions()),
        SessionModule.forRoot({ secret: TEST_SECRET, prefix: uniquePrefix('sess-rl') }),
        ThrottlingModule.forRoot({
          global: { limit: 3, ttlMs: 60_000 },
          tracker: 'session',
          keyPrefix: uniquePrefix('rl-sess'),
        }),
      ],
      controllers: [LimitedController],
    })
    class LimitedModule {}
    const moduleRef = await Test.createTestingModule({ imports: [LimitedModule] }).compile();
    const app = await startTestApp(moduleRef, { trustProxy: true }, trustLoopbackProxy);
    const http = app.getHttpServer();
    const https = { 'X-Forwarded-Proto': 'https' };
    const login = await request(http).post('/login').set(https).expect(201); // anonymous: 1 of 3
    const cookie = sessionCookie(login)!;
    await request(http).get('/work').set(https).expect(200);
    await request(http).get('/work').set(https).expect(200);
    // The session plugin gives each of these a fresh session id; the tracker uses the IP.
    await request(http).get('/work').set(https).expect(429);
    await request(http).get('/work').set(https).set('Cookie', 'unrelated=1').expect(429);
    // The stored session the cookie carries has a budget of its own.
    for (let i = 0; i < 3; i++)
      await request(http).get('/work').set(https).set('Cookie', cookie).expect(200);
    await request(http).get('/work').set(https).set('Cookie', cookie).expect(429);
    await app.close();
  });
});
