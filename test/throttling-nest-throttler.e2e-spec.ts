import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import request from 'supertest';
import {
  MemoryThrottleStore,
  REDIS_CLIENT,
  RedisModule,
  RedisThrottleStore,
  type RedisConnection,
} from '../src';
import { testRedisOptions } from './support/test-redis';

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
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
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
