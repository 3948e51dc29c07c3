import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { RedisModule, RedisTimeoutError, withDeadline, type RedisConnection } from '../src';
import { REDIS_CLIENT } from '../src';
import { Test } from '@nestjs/testing';
import { startCachingTestApp } from './support/caching-test-app';
import { ownRedis, type OwnRedis, uniquePrefix } from './support/test-redis';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { throttledApp } from './throttling-test-app';

// A frozen Redis (SIGSTOP) is the failure a kill does not show: the connection stays up,
// commands are written and never answered, and node-redis never fails them by itself.
const BOUND_MS = 400;

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
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
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
    expect((await post('thawed')).headers['x-cache']).toBe('HIT');
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
});
