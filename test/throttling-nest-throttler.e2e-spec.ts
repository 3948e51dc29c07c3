import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ThrottlerGuard, ThrottlerModule, ThrottlerStorageService } from '@nestjs/throttler';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  MemoryThrottleStore,
  REDIS_CLIENT,
  RedisModule,
  RedisThrottleStore,
  type RedisConnection,
} from '../src';
import { startTestApp } from './support/platform';
import { testConnection, testRedisOptions } from './support/test-redis';

@Controller()
class PlainController {
  @Get('plain')
  plain() {
    return { ok: true };
  }
}

describe('our stores as the storage of a plain @nestjs/throttler ThrottlerModule', () => {
  it.each([
    ['RedisThrottleStore', (redis: RedisConnection) => new RedisThrottleStore(redis)],
    ['MemoryThrottleStore', () => new MemoryThrottleStore()],
  ])('%s enforces ThrottlerModule limits with its own guard', async (_, makeStore) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot(testRedisOptions()),
        ThrottlerModule.forRootAsync({
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisConnection) => ({
            // A random name keeps this spec's keys apart from earlier runs on the same server.
            throttlers: [
              { name: `plain-${Math.random().toString(36).slice(2)}`, limit: 2, ttl: 3_600_000 },
            ],
            storage: makeStore(redis),
          }),
        }),
      ],
      controllers: [PlainController],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
    }).compile();
    const app = await startTestApp(moduleRef);
    const http = request(app.getHttpServer());
    const first = await http.get('/plain').expect(200);
    expect(
      Object.entries(first.headers).find(([k]) => k.startsWith('x-ratelimit-remaining'))?.[1],
    ).toBe('1');
    await http.get('/plain').expect(200);
    const third = await http.get('/plain').expect(429);
    expect(
      Number(Object.entries(third.headers).find(([k]) => k.startsWith('retry-after'))?.[1]),
    ).toBeGreaterThan(0);
    await app.close();
  });
});

describe("our stores answer increment() with @nestjs/throttler's stock storage meaning", () => {
  type Storage = {
    increment(
      key: string,
      ttl: number,
      limit: number,
      blockDuration: number,
      throttlerName: string,
    ): Promise<{
      totalHits: number;
      timeToExpire: number;
      isBlocked: boolean;
      timeToBlockExpire: number;
    }>;
  };
  let redis: RedisConnection;
  beforeAll(async () => (redis = await testConnection()));
  afterAll(() => redis.destroy());

  // Windows short enough not to wait long, each sleep past its window by a margin (the stock
  // storage and ours report whole seconds: 1 for the window, 2 for the block).
  const TTL_MS = 600;
  const BLOCK_MS = 1_500;

  /** The same calls on the stock storage and on ours, at the same moments. */
  async function both(ours: Storage, calls: number, key: string, blockMs: number) {
    const stock = new ThrottlerStorageService();
    const pairs = [];
    for (let i = 0; i < calls; i++)
      pairs.push(
        await Promise.all([
          stock.increment(key, TTL_MS, 3, blockMs, 'default'),
          ours.increment(key, TTL_MS, 3, blockMs, 'default'),
        ]),
      );
    stock.onApplicationShutdown();
    return pairs;
  }

  it.each([
    ['RedisThrottleStore', () => new RedisThrottleStore(redis)],
    ['MemoryThrottleStore', () => new MemoryThrottleStore()],
  ])(
    '%s: a burst past the limit, then a fresh window after ttl (no blockDuration)',
    async (_, make) => {
      const store = make();
      const key = `burst-${Math.random()}`;
      for (const [stock, ours] of await both(store, 5, key, 0)) expect(ours).toEqual(stock);
      await sleep(TTL_MS + 100);
      for (const [stock, ours] of await both(store, 1, key, 0)) expect(ours).toEqual(stock);
    },
  );

  it.each([
    ['RedisThrottleStore', () => new RedisThrottleStore(redis)],
    ['MemoryThrottleStore', () => new MemoryThrottleStore()],
  ])('%s: blockDuration blocks past the limit, then counts afresh', async (_, make) => {
    const store = make();
    const key = `block-${Math.random()}`;
    const pairs = await both(store, 5, key, BLOCK_MS);
    // (The stock storage reports a meaningless negative timeToBlockExpire while not blocked; its
    // guard reads it only when blocked.)
    const meaning = (r: { isBlocked: boolean; timeToBlockExpire: number }) =>
      r.isBlocked ? r : { ...r, timeToBlockExpire: 0 };
    for (const [stock, ours] of pairs) expect(meaning(ours)).toEqual(meaning(stock));
    expect(pairs[3]![1]).toMatchObject({ isBlocked: true, timeToBlockExpire: 2 });
    await sleep(TTL_MS + 100);
    // Past the window, still inside the block.
    expect(await store.increment(key, TTL_MS, 3, BLOCK_MS)).toMatchObject({ isBlocked: true });
    await sleep(BLOCK_MS - TTL_MS);
    expect(await store.increment(key, TTL_MS, 3, BLOCK_MS)).toMatchObject({
      isBlocked: false,
      totalHits: 1,
    });
  });
});
