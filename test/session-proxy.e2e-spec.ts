import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { SessionService } from '../src';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { testPlatform } from './support/platform';

// The Secure cookie follows express-session's `proxy` / Express's `trust proxy` (Fastify's
// `trustProxy` on Fastify); a Secure
// cookie that cannot be sent (plain http) is reported, and its session is neither stored
// nor counted against maxSessionsPerUser.

describe('SessionModule behind a proxy and over plain http', () => {
  afterEach(() => jest.restoreAllMocks());

  async function app(options: object = {}) {
    const app = (await sessionTestApp({
      redis: testRedisOptions(),
      prefix: uniquePrefix('sess-proxy'),
      ...options,
    })) as NestExpressApplication;
    // One TLS-terminating proxy in front (Fastify's adapter trusts it: sessionTestApp).
    if (testPlatform() === 'express') app.set('trust proxy', 1);
    return app;
  }

  it('sends the Secure __Host- cookie behind one trusted hop (X-Forwarded-Proto: https)', async () => {
    const target = await app();
    const res = await request(target.getHttpServer())
      .post('/login/u1')
      .set('X-Forwarded-Proto', 'https')
      .expect(201);
    const header = (res.headers['set-cookie'] as unknown as string[])[0]!;
    expect(header).toMatch(/^__Host-sid=/);
    expect(header).toMatch(/; Secure/);
    await request(target.getHttpServer())
      .get('/me')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', sessionCookie(res)!)
      .expect(200);
    await target.close();
  });

  // SessionService.create(), and a session the app regenerates itself (as Passport does),
  // saved in the handler or at the end of the request.
  const LOGINS = [
    ['SessionService.create()', '/login/u1'],
    ['regenerate() + save() in the handler', '/own-login/u1'],
    ['regenerate(), saved at the end of the request', '/own-login/u1?save=end'],
  ];

  it.each(LOGINS)(
    'warns, naming the setting, when a Secure cookie cannot be sent, and does not count that session against maxSessionsPerUser: %s',
    async (_, login) => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const target = await app({ maxSessionsPerUser: 1 });
      const http = target.getHttpServer();
      const first = await request(http)
        .post('/login/u1')
        .set('X-Forwarded-Proto', 'https')
        .expect(201);
      const cookie = sessionCookie(first)!;
      for (let i = 0; i < 3; i++) {
        const plain = await request(http).post(login).expect(201); // no TLS anywhere
        expect(plain.headers['set-cookie']).toBeUndefined();
      }
      const warnings = warn.mock.calls.map(([message]) => String(message));
      expect(warnings.filter((m) => m.includes("'trust proxy'"))).toHaveLength(1); // once per interval
      expect(warnings.join('\n')).toMatch(
        /cookie is Secure and the request is not.*secure: 'auto'/,
      );
      // The real session survived: the dropped ones were not stored, so the cap evicted nothing.
      await request(http)
        .get('/me')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', cookie)
        .expect(200);
      expect(await target.get(SessionService).listForUser('u1')).toHaveLength(1);
      await target.close();
    },
  );

  it.each(LOGINS)(
    'stores the device of a new session: the client IP behind the proxy and its User-Agent: %s',
    async (_, login) => {
      const target = await app();
      const res = await request(target.getHttpServer())
        .post(login)
        .set('X-Forwarded-Proto', 'https')
        .set('X-Forwarded-For', '203.0.113.7')
        .set('User-Agent', 'device-a')
        .expect(201);
      expect(sessionCookie(res)).toBeDefined();
      const listed = await target.get(SessionService).listForUser('u1');
      expect(listed).toEqual([
        expect.objectContaining({ ip: '203.0.113.7', userAgent: 'device-a' }),
      ]);
      await target.close();
    },
  );

  it("cookie: { secure: 'auto' } works over plain http in tests, without the Secure attribute", async () => {
    const target = await app({ cookie: { secure: 'auto' } });
    const res = await request(target.getHttpServer()).post('/login/u1').expect(201);
    const header = (res.headers['set-cookie'] as unknown as string[])[0]!;
    expect(header).toMatch(/^sid=/);
    expect(header).not.toMatch(/Secure/);
    await request(target.getHttpServer())
      .get('/me')
      .set('Cookie', sessionCookie(res, 'sid')!)
      .expect(200);
    await target.close();
  });
});
