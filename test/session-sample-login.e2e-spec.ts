import { type INestApplication, type LoggerService, Logger } from '@nestjs/common';
import request from 'supertest';
import { AppModule } from '../sample/app.module';
import { DEMO_PARTITION_SECRET, samplePartitionSecret } from '../sample/partition-secret';
import {
  sessionCookie,
  sessionSampleApp,
  sessionTestApp,
  specRedis,
  TEST_SECRET,
} from './session-support/session-test-app';
import { sampleRedis, testRedisOptions, uniquePrefix } from './support/test-redis';

// The sample's login creates a session only for a known user with the right password, and the
// kit's SessionService.create() refuses a session without a user; the sample's demo partition
// secret is refused in production and warned about elsewhere, as its session secret is.

const HTTPS = { 'X-Forwarded-Proto': 'https' };

describe("the sample's login and secrets", () => {
  const spec = specRedis();

  describe.each([
    ['memory', false],
    ['Redis', true],
  ] as const)('login on %s', (_name, redis) => {
    let app: INestApplication;
    let prefix: string;
    beforeAll(async () => {
      prefix = uniquePrefix('sess-login');
      app = await sessionSampleApp({
        ...(redis ? sampleRedis() : {}),
        sessionSecret: TEST_SECRET,
        cachePartitionSecret: 'session-sample-login-partition-secret-0123456789',
        session: { prefix },
        throttling: { keyPrefix: uniquePrefix('rl') },
      });
    });
    afterAll(() => app.close());

    const sessionKeys = async () =>
      (await spec.inspect.keys(`${prefix}*`)).filter((key) => !key.includes('{stats}'));

    it.each([
      ['an inherited name, no password: toString', { username: 'toString' }],
      ['an inherited name, no password: valueOf', { username: 'valueOf' }],
      ['an inherited name, no password: constructor', { username: 'constructor' }],
      ['an inherited name, no password: hasOwnProperty', { username: 'hasOwnProperty' }],
      ['an inherited name, no password: __proto__', { username: '__proto__' }],
      ['a known user and no password', { username: 'alice' }],
      ['a known user and a null password', { username: 'alice', password: null }],
      ['a known user, the password in an array', { username: 'alice', password: ['wonderland'] }],
      ['a known user and an object password', { username: 'alice', password: {} }],
      ['a known user and a wrong password', { username: 'alice', password: 'builder' }],
      ['no username', { password: 'wonderland' }],
    ])('refuses %s: 401, no cookie, no session', async (_case, body) => {
      const res = await request(app.getHttpServer())
        .post('/auth/login')
        .set(HTTPS)
        .send(body)
        .expect(401);
      expect(sessionCookie(res)).toBeUndefined();
      if (redis) expect(await sessionKeys()).toEqual([]);
      // Nothing a refused login answered gets past @RequireSession().
      await request(app.getHttpServer()).get('/profile').set(HTTPS).expect(401);
    });

    it("logs in a known user with the right password (a session and the user's index)", async () => {
      const res = await request(app.getHttpServer())
        .post('/auth/login')
        .set(HTTPS)
        .send({ username: 'alice', password: 'wonderland' })
        .expect(200);
      const cookie = sessionCookie(res)!;
      const me = await request(app.getHttpServer())
        .get('/profile')
        .set(HTTPS)
        .set('Cookie', cookie);
      expect(me.body).toMatchObject({ id: 'u-alice', name: 'Alice' });
      if (redis) expect(await sessionKeys()).toHaveLength(2); // the session and alice's index
    });
  });

  it('SessionService.create() refuses data without a user id: no session is created', async () => {
    const prefix = uniquePrefix('sess-nouser');
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix });
    const res = await request(app.getHttpServer()).post('/login-without-user').set(HTTPS);
    expect(res.status).toBe(500);
    expect(sessionCookie(res)).toBeUndefined();
    expect(await spec.inspect.keys(`${prefix}*`)).toEqual([]);
    await app.close();
  });

  describe('the demo partition secret', () => {
    const environment = process.env.NODE_ENV;
    afterEach(() => (process.env.NODE_ENV = environment));

    it('is refused under NODE_ENV=production when CACHE_PARTITION_SECRET is not set', () => {
      process.env.NODE_ENV = 'production';
      expect(() => samplePartitionSecret(undefined)).toThrow(
        /CACHE_PARTITION_SECRET is required in production/,
      );
      expect(() => AppModule.register({ sessionSecret: TEST_SECRET })).toThrow(
        /CACHE_PARTITION_SECRET/,
      );
      expect(samplePartitionSecret('a-configured-partition-secret-0123456789')).toBe(
        'a-configured-partition-secret-0123456789',
      );
    });

    it('is used with a warning outside production', () => {
      process.env.NODE_ENV = 'development';
      const warnings: string[] = [];
      const capture: LoggerService = {
        log: () => undefined,
        error: () => undefined,
        warn: (message: unknown) => void warnings.push(String(message)),
      };
      Logger.overrideLogger(capture);
      try {
        expect(samplePartitionSecret(undefined)).toBe(DEMO_PARTITION_SECRET);
      } finally {
        Logger.overrideLogger(false);
      }
      expect(warnings).toEqual([expect.stringMatching(/CACHE_PARTITION_SECRET is not set/)]);
    });
  });
});
