import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  LlmCacheStats,
  REDIS_CLIENT,
  RedisHealthService,
  RedisModule,
  ThrottlingStats,
  type RedisConnection,
} from '../src';
import { RedisTimeoutError, withDeadline } from '../src/redis/deadline';
import { Test } from '@nestjs/testing';
import { startCachingTestApp } from './support/caching-test-app';
import { startTestApp } from './support/platform';
import { startStatsApp } from './support/stats-app';
import { inspectClient, ownRedis, type OwnRedis, uniquePrefix } from './support/test-redis';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { throttledApp } from './throttling-test-app';

// A frozen Redis (SIGSTOP) is the failure a kill does not show: the connection stays up,
// commands are written and never answered, and node-redis never fails them by itself.
const BOUND_MS = 400;
// The upper bound of "within its bound": the bound plus room for a loaded CI machine.
const UPPER_MS = BOUND_MS * 3;

async function timed<T>(work: Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await work;
  return { ms: Date.now() - started, value };
}

describe('A frozen Redis (SIGSTOP): every module answers within its bound', () => {
  let server: OwnRedis;
  let app: INestApplication | undefined;

  beforeEach(async () => (server = await ownRedis()));
  afterEach(async () => {
    server.resume();
    await app?.close();
    app = undefined;
    await server.stop();
  });

  it('withDeadline fails a call a frozen Redis never answers with RedisTimeoutError', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisModule.forRoot(server.target)],
    }).compile();
    app = await startTestApp(moduleRef);
    const redis = app.get<RedisConnection>(REDIS_CLIENT);
    await redis.set('{frozen}k', 'v');
    server.pause();
    const started = Date.now();
    const error = await withDeadline(redis.get('{frozen}k'), BOUND_MS, 'a test read').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(BOUND_MS - 5);
    server.resume();
    expect(await withDeadline(redis.get('{frozen}k'), BOUND_MS, 'a test read')).toBe('v');
  });

  it('cache: the request still succeeds (BYPASS) after commandTimeoutMs, and caching resumes', async () => {
    const prefix = uniquePrefix('frozen-cache');
    const caching = await startCachingTestApp(
      { keyPrefix: prefix, l1: { ttlMs: 0 } },
      { ...server.target, commandTimeoutMs: BOUND_MS },
    );
    app = caching;
    const post = (prompt: string) =>
      request(caching.getHttpServer())
        .post('/global-scope')
        .send({ model: 'gpt-4o-mini', prompt })
        .timeout(BOUND_MS * 10);
    server.pause();
    const { ms, value: frozen } = await timed(post('frozen'));
    expect([frozen.status, frozen.headers['x-cache']]).toEqual([200, 'BYPASS']);
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    server.resume();
    expect((await post('thawed')).headers['x-cache']).toBe('MISS');
    // With no L1, the MISS's Redis write may still be on its way when the next request looks
    // (right after a thaw, the reconnecting client delays it): that request then waits on the
    // leader's lock and is answered from its entry (COALESCED). Either way, from the cache.
    expect((await post('thawed')).headers['x-cache']).toMatch(/^(HIT|COALESCED)$/);
  });

  it('throttling: open lets the request through, closed answers 503, after redisTimeoutMs', async () => {
    app = await throttledApp({
      redis: server.target,
      throttling: { keyPrefix: uniquePrefix('frozen-rl'), redisTimeoutMs: BOUND_MS },
    });
    const http = app.getHttpServer();
    await request(http).get('/p-open').expect(200);
    server.pause();
    const open = await timed(
      request(http)
        .get('/p-open')
        .timeout(BOUND_MS * 10),
    );
    expect(open.value.status).toBe(200);
    expect(open.ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    const closed = await request(http)
      .get('/p-closed')
      .timeout(BOUND_MS * 10);
    expect(closed.status).toBe(503);
  });

  it('sessions: a session route answers 503 after storeTimeoutMs, a plain route answers 200', async () => {
    app = await sessionTestApp({ redis: server.target, storeTimeoutMs: BOUND_MS });
    const http = app.getHttpServer();
    const https = { 'X-Forwarded-Proto': 'https' };
    const login = await request(http).post('/login/u1').set(https).expect(201);
    const cookie = sessionCookie(login)!;
    server.pause();
    const me = await timed(
      request(http)
        .get('/me')
        .set(https)
        .set('Cookie', cookie)
        .timeout(BOUND_MS * 10),
    );
    expect(me.value.status).toBe(503);
    expect(me.ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    await request(http).get('/health').set(https).set('Cookie', cookie).expect(200);
  });

  it('health check: RedisHealthService.check() answers { ok: false } within commandTimeoutMs', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisModule.forRoot({ ...server.target, commandTimeoutMs: BOUND_MS })],
    }).compile();
    app = await startTestApp(moduleRef);
    const health = app.get(RedisHealthService);
    expect((await health.check()).ok).toBe(true);
    server.pause();
    const { ms, value } = await timed(health.check());
    expect(value).toEqual({ ok: false, error: expect.stringMatching(/within 400 ms/) as string });
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    expect(ms).toBeLessThan(UPPER_MS);
    server.resume();
    expect((await health.check()).ok).toBe(true);
  });

  it('stats: GET /stats/series and POST /stats/reset answer 503, GET /stats answers 200, each within its bound', async () => {
    const token = 'a-long-enough-stats-token';
    app = await startStatsApp({
      prefix: uniquePrefix('frozen-stats'),
      redis: server.target,
      commandTimeoutMs: BOUND_MS,
      stats: { token, snapshotTimeoutMs: BOUND_MS, seriesIntervalMs: 60_000 },
    });
    const http = app.getHttpServer();
    const call = (method: 'get' | 'post', path: string) => {
      const agent = request(http);
      return (method === 'get' ? agent.get(path) : agent.post(path))
        .auth(token, { type: 'bearer' })
        .timeout(BOUND_MS * 10);
    };
    await call('get', '/stats/series').expect(200);
    server.pause();
    const answers: [string, number][] = [];
    for (const [method, path] of [
      ['get', '/stats/series'],
      ['post', '/stats/reset'],
      ['get', '/stats'],
    ] as const) {
      const { ms, value } = await timed(call(method, path));
      answers.push([`${method} ${path}`, value.status]);
      expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
      expect(ms).toBeLessThan(UPPER_MS);
    }
    expect(answers).toEqual([
      ['get /stats/series', 503],
      ['post /stats/reset', 503],
      ['get /stats', 200],
    ]);
  });

  it('stats counters: a frozen Redis gets one pending flush, never a queue of them; nothing is lost or counted twice', async () => {
    const prefix = uniquePrefix('frozen-flush');
    app = await startCachingTestApp(
      { keyPrefix: prefix, l1: { ttlMs: 0 } },
      { ...server.target, commandTimeoutMs: BOUND_MS },
    );
    const throttling = await throttledApp({
      redis: { ...server.target, commandTimeoutMs: BOUND_MS },
      throttling: { keyPrefix: `${prefix}rl:`, redisTimeoutMs: BOUND_MS, statsFlushIntervalMs: 20 },
    });
    const inspector = await inspectClient(server.target);
    try {
      const cache = app.get(LlmCacheStats);
      const limits = throttling.get(ThrottlingStats);
      const count = () => {
        cache.record('misses', 'gpt-4o', 'POST /frozen');
        limits.recordPolicy('frozen', true);
      };
      count();
      expect([await cache.flush(), await limits.flush()]).toEqual([true, true]); // scripts loaded
      const writes = async () => {
        const calls = await inspector.commandCalls();
        return (calls.evalsha ?? 0) + (calls.eval ?? 0) + (calls.exec ?? 0);
      };
      const before = await writes();
      server.pause();
      // Five rounds of counting and flushing, each long enough for many flush intervals.
      for (let round = 0; round < 5; round++) {
        count();
        const { ms, value } = await timed(Promise.all([cache.flush(), limits.flush()]));
        expect(value).toEqual([false, false]);
        expect(ms).toBeLessThan(UPPER_MS);
      }
      server.resume();
      expect([await cache.flush(), await limits.flush()]).toEqual([true, true]);
      // One write of each went out while frozen (run on thaw), one more of each after it.
      expect((await writes()) - before).toBe(4);
      expect((await cache.snapshot()).misses).toBe(6);
      expect((await limits.snapshot()).byPolicy.frozen).toEqual({ allowed: 6, rejected: 0 });
    } finally {
      inspector.close();
      await throttling.close();
    }
  });
});
