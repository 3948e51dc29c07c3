import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LlmCacheService, REDIS_CLIENT, type RedisConnection } from '../src';
import { Calls, Hooks, startCachingTestApp } from './support/caching-test-app';
import {
  inspectClient,
  ownRedis,
  type OwnRedis,
  uniquePrefix,
  untilReady,
} from './support/test-redis';

async function getCalls(server: OwnRedis): Promise<number> {
  const inspect = await inspectClient(server.target);
  try {
    return (await inspect.commandCalls()).get ?? 0;
  } finally {
    inspect.close();
  }
}

describe('CachingModule with its own Redis', () => {
  let server: OwnRedis;
  let app: INestApplication;
  const prefix = uniquePrefix('cache-resilience');

  beforeAll(async () => (server = await ownRedis()));
  afterAll(() => server.stop());
  afterEach(() => app.close());

  const post = (path: string, prompt: string) =>
    request(app.getHttpServer()).post(path).send({ model: 'gpt-4o-mini', prompt });

  it('reads the cache once per request when the throttling probe asked first (probe, then interceptor)', async () => {
    app = await startCachingTestApp({ keyPrefix: prefix, l1: { ttlMs: 0 } }, server.target);
    const miss = await post('/probed', 'probe me');
    expect([miss.headers['x-probe'], miss.headers['x-cache']]).toEqual(['false', 'MISS']);
    const before = await getCalls(server);
    const hit = await post('/probed', 'probe me');
    expect([hit.headers['x-probe'], hit.headers['x-cache']]).toEqual(['true', 'HIT']);
    expect((await getCalls(server)) - before).toBe(1);
    // A miss with the probe costs the same reads as a miss without it (the lookup is reused;
    // the other GETs run inside the lock scripts).
    const beforeMiss = await getCalls(server);
    const other = await post('/probed', 'another');
    expect([other.headers['x-probe'], other.headers['x-cache']]).toEqual(['false', 'MISS']);
    const probedMiss = (await getCalls(server)) - beforeMiss;
    const beforePlain = await getCalls(server);
    expect((await post('/global-scope', 'unprobed')).headers['x-cache']).toBe('MISS');
    expect(probedMiss).toBe((await getCalls(server)) - beforePlain);
    expect(app.get(Calls).count).toBe(3);
  });

  it('answers BYPASS to a corrupt entry, deletes it, and stores a good one on the next request', async () => {
    app = await startCachingTestApp({ keyPrefix: prefix, l1: { ttlMs: 0 } }, server.target);
    const body = { model: 'gpt-4o-mini', prompt: 'corrupt' };
    const hash = app
      .get(LlmCacheService)
      .keyOf(body, { scope: 'global', namespace: 'POST /global-scope' });
    const inspect = await inspectClient(server.target);
    try {
      await inspect.redis.set(`${prefix}:{${hash}}`, 'not an entry');
      const statuses: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post('/global-scope', 'corrupt');
        expect(res.body.choices[0].message.content).toBe('corrupt');
        statuses.push(res.headers['x-cache']);
      }
      expect(statuses).toEqual(['BYPASS', 'MISS', 'HIT']);
    } finally {
      inspect.close();
    }
  });

  it('serves requests while Redis is killed (BYPASS) and caches again after it restarts, without an app restart', async () => {
    app = await startCachingTestApp({ keyPrefix: prefix }, server.target);
    const redis = app.get<RedisConnection>(REDIS_CLIENT);
    app.get(Hooks).during = () => server.stop();
    const during = await post('/hooked', 'killed mid-request');
    expect(during.status).toBe(200);
    expect(during.body.choices[0].message.content).toBe('killed mid-request');
    app.get(Hooks).during = async () => undefined;

    const down = await post('/hooked', 'while down');
    expect([down.status, down.headers['x-cache']]).toEqual([200, 'BYPASS']);

    await server.restart();
    await untilReady(redis);
    const miss = await post('/hooked', 'after restart');
    const hit = await post('/hooked', 'after restart');
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    const inspect = await inspectClient(server.target);
    try {
      expect((await inspect.keys(`${prefix}*`)).some((key) => /\{[0-9a-f]{64}\}$/.test(key))).toBe(
        true,
      );
    } finally {
      inspect.close();
    }
  });
});
