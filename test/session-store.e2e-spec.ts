import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { SessionService, SessionStats } from '../src';
import {
  inspectClient,
  type RedisInspector,
  testRedisOptions,
  uniquePrefix,
} from './support/test-redis';
import { Gate, gates, sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { testPlatform } from './support/platform';

const HTTPS = { 'X-Forwarded-Proto': 'https' };

async function login(app: INestApplication, user = 'u1'): Promise<string> {
  const res = await request(app.getHttpServer()).post(`/login/${user}`).set(HTTPS).expect(201);
  return sessionCookie(res)!;
}

function me(app: INestApplication, cookie: string) {
  return request(app.getHttpServer()).get('/me').set(HTTPS).set('Cookie', cookie);
}

/** The session keys under a prefix (not the per-user indexes, not the counters). */
async function sessionKeys(redis: RedisInspector, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}*`);
  return keys.filter((key) => !key.endsWith(':index') && !key.includes('{stats}'));
}

const WRITES = ['evalsha', 'eval', 'hset', 'pexpireat', 'expire', 'set', 'zadd', 'del'];

function delta(before: Record<string, number>, after: Record<string, number>, names: string[]) {
  return names.reduce((sum, name) => sum + (after[name] ?? 0) - (before[name] ?? 0), 0);
}

/** A clock the test moves by hand. */
function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('SessionModule store rules (Redis)', () => {
  let redis: RedisInspector;
  beforeAll(async () => (redis = await inspectClient()));
  afterAll(() => redis.close());

  it('keeps a session deleted when a request that loaded it finishes after the logout', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix });
    const cookie = await login(app);
    const gate = new Gate();
    gates.set('late', gate);
    const slow = request(app.getHttpServer())
      .post('/set/late/1')
      .set(HTTPS)
      .set('Cookie', cookie)
      .then((res) => res.status);
    await gate.entered;
    // Log out while the slow request holds the loaded session, then let it save.
    const out = await request(app.getHttpServer()).post('/logout').set(HTTPS).set('Cookie', cookie);
    expect(out.status).toBe(201);
    expect(await sessionKeys(redis, prefix)).toEqual([]);
    gate.open();
    expect(await slow).toBe(201);
    gates.delete('late');
    expect(await sessionKeys(redis, prefix)).toEqual([]);
    await me(app, cookie).expect(401);
    await app.close();
  });

  it('merges concurrent updates of different fields (neither is lost)', async () => {
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix: uniquePrefix('sess') });
    const cookie = await login(app);
    const [a, b] = [new Gate(), new Gate()];
    gates.set('theme', a);
    gates.set('lang', b);
    const server = app.getHttpServer();
    const first = request(server).post('/set/theme/dark').set(HTTPS).set('Cookie', cookie).then();
    const second = request(server).post('/set/lang/fr').set(HTTPS).set('Cookie', cookie).then();
    await Promise.all([a.entered, b.entered]); // both loaded the session before either saved
    a.open();
    await first;
    b.open();
    await second;
    gates.clear();
    expect((await me(app, cookie).expect(200)).body).toEqual({
      userId: 'u1',
      theme: 'dark',
      lang: 'fr',
    });
    await app.close();
  });

  it('ends a session after the idle timeout (controllable clock)', async () => {
    const clock = manualClock();
    const app = await sessionTestApp({
      redis: testRedisOptions(),
      prefix: uniquePrefix('sess'),
      ttlMs: 10_000,
      touchIntervalMs: 1_000,
      clock: clock.now,
    });
    const cookie = await login(app);
    clock.advance(9_000);
    await me(app, cookie).expect(200); // used: the idle timer restarts
    clock.advance(9_000);
    await me(app, cookie).expect(200);
    clock.advance(10_001);
    await me(app, cookie).expect(401);
    await app.close();
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const clock = manualClock();
    const app = await sessionTestApp({
      redis: testRedisOptions(),
      prefix: uniquePrefix('sess'),
      ttlMs: 10_000,
      absoluteTtlMs: 30_000,
      touchIntervalMs: 1_000,
      clock: clock.now,
    });
    const cookie = await login(app);
    for (let used = 0; used < 5; used++) {
      clock.advance(5_000);
      await me(app, cookie).expect(200);
    }
    clock.advance(5_000); // 30 s after creation, last used 5 s ago
    await me(app, cookie).expect(401);
    await app.close();
  });

  it('expires sessions in Redis itself (short real TTL)', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sessionTestApp({
      redis: testRedisOptions(),
      prefix,
      ttlMs: 300,
      touchIntervalMs: 0,
    });
    await login(app);
    const [key] = await sessionKeys(redis, prefix);
    const pttl = await redis.redis.pTTL(key!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    await app.close();
  });

  it.each([
    ['', false],
    [' (rolling: true, the cookie sent on every response)', true],
  ])(
    'writes at most once per touchIntervalMs over 100 read-only requests%s',
    async (_, rolling) => {
      const clock = manualClock();
      const app = await sessionTestApp({
        redis: testRedisOptions(),
        prefix: uniquePrefix('sess'),
        touchIntervalMs: 60_000,
        clock: clock.now,
        rolling,
      });
      const cookie = await login(app);
      await app.get(SessionStats).snapshot(); // writes the login's batched counters now
      const before = await redis.commandCalls();
      const sent = new Set<string | undefined>();
      for (let i = 0; i < 100; i++) sent.add(sessionCookie(await me(app, cookie).expect(200)));
      // The same session's cookie again with rolling; none without (nothing changed).
      expect([...sent]).toEqual([rolling ? cookie : undefined]);
      const middle = await redis.commandCalls();
      expect(delta(before, middle, ['hgetall'])).toBe(100);
      expect(delta(before, middle, WRITES)).toBe(0);
      // Ten touch intervals pass over the next 100 requests: ten refreshes, each one script
      // (HSET + PEXPIREAT inside) plus one counters script.
      for (let i = 0; i < 100; i++) {
        if (i % 10 === 0) clock.advance(60_000);
        await me(app, cookie).expect(200);
      }
      const after = await redis.commandCalls();
      expect(delta(middle, after, ['pexpireat'])).toBe(10);
      expect(delta(middle, after, ['hset'])).toBe(10);
      await app.close();
    },
  );

  it('counts created, destroyed, revoked and active sessions in Redis', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix, maxSessionsPerUser: 2 });
    const stats = app.get(SessionStats);
    const cookies = [await login(app, 'a'), await login(app, 'a'), await login(app, 'a')];
    await login(app, 'b');
    const sessions = app.get(SessionService);
    await sessions.revokeAllForUser('b');
    await request(app.getHttpServer()).post('/login/c').set(HTTPS).set('Cookie', cookies[2]!);
    // The counters are written beside each request, on the same connection as this read.
    expect(await stats.snapshot()).toEqual({ active: 2, created: 5, destroyed: 1, revoked: 2 });
    await stats.reset();
    expect(await stats.snapshot()).toEqual({ active: 2, created: 0, destroyed: 0, revoked: 0 });
    await app.close();
  });
});

describe('SessionModule helpers and decorators', () => {
  it('supports the seed helpers createSession(res, data) and destroySession(req, res)', async () => {
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix: uniquePrefix('sess') });
    const http = app.getHttpServer();
    const res = await request(http).post('/seed-login/u7').set(HTTPS).expect(201);
    const cookie = sessionCookie(res)!;
    expect(decodeURIComponent(cookie)).toContain(res.body.id);
    expect((await me(app, cookie).expect(200)).body).toEqual({ userId: 'u7' });
    const out = await request(http).post('/seed-logout').set(HTTPS).set('Cookie', cookie);
    expect(out.headers['clear-site-data']).toBeDefined();
    await me(app, cookie).expect(401);
    await app.close();
  });

  it('stores the user as req.session.userId, where resolveUserId (the other modules) finds it', async () => {
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix: uniquePrefix('sess') });
    const http = app.getHttpServer();
    expect((await request(http).get('/whoami').set(HTTPS).expect(200)).body).toEqual({
      userId: null,
    });
    const cookie = await login(app, 'u-42');
    const res = await request(http).get('/whoami').set(HTTPS).set('Cookie', cookie).expect(200);
    expect(res.body).toEqual({ userId: 'u-42' });
    await app.close();
  });

  it('runs pipes on a @Session(property) parameter', async () => {
    const app = await sessionTestApp({ redis: testRedisOptions(), prefix: uniquePrefix('sess') });
    const cookie = await login(app, 'quiet');
    const res = await request(app.getHttpServer())
      .get('/shout')
      .set(HTTPS)
      .set('Cookie', cookie)
      .expect(200);
    expect(res.body).toEqual({ userId: 'QUIET' });
    await app.close();
  });

  it('skips routes outside `routes`: no store read there, even with a cookie', async () => {
    if (testPlatform() === 'fastify') {
      // @fastify/session runs on every route: the option is refused at start-up, saying so.
      await expect(
        sessionTestApp({ redis: testRedisOptions(), exclude: ['health'] }),
      ).rejects.toThrow(
        'the session plugin runs on every route on Fastify; remove `routes` and `exclude`.',
      );
      return;
    }
    const app = await sessionTestApp({
      redis: testRedisOptions(),
      prefix: uniquePrefix('sess'),
      exclude: ['health'],
    });
    const cookie = await login(app);
    const redis = await inspectClient();
    const before = await redis.commandCalls();
    for (let i = 0; i < 5; i++)
      await request(app.getHttpServer()).get('/health').set('Cookie', cookie).expect(200);
    expect(delta(before, await redis.commandCalls(), ['hgetall'])).toBe(0);
    await me(app, cookie).expect(200);
    redis.close();
    await app.close();
  });
});
