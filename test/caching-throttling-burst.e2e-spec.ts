import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  RedisModule,
  ThrottlingModule,
  type ThrottlingModuleOptions,
} from '../src';
import { Calls, completion } from './support/caching-test-app';
import { bootApp } from './support/boot-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

// A client whose limit is spent gets no upstream call by sending a burst of identical
// requests: a request counts as the leader others may coalesce on only once it is admitted.

@Controller()
class BurstRoutes {
  constructor(private readonly calls: Calls) {}

  /** Upstream takes a moment, so the burst's requests overlap. */
  @Post('one')
  @HttpCode(200)
  @LLMThrottle({ policy: 'one' })
  @CacheLLM({ scope: 'global' })
  async one(@Body() body: { prompt: string }) {
    this.calls.count++;
    await delay(150);
    return completion(`answer to ${body.prompt}`);
  }
}

async function start(
  redis: boolean,
  extra: Partial<ThrottlingModuleOptions> = {},
): Promise<INestApplication> {
  @Module({
    imports: [
      ...(redis ? [RedisModule.forRoot(testRedisOptions())] : []),
      CachingModule.forRoot({
        keyPrefix: uniquePrefix('burst-cache'),
        partitionSecret: 'caching-throttling-burst-secret-0123456789',
      }),
      ThrottlingModule.forRoot({
        keyPrefix: uniquePrefix('burst-rl'),
        policies: { one: { limit: 1, ttlMs: 60_000 } },
        ...extra,
      }),
    ],
    controllers: [BurstRoutes],
    providers: [Calls],
  })
  class AppModule {}
  return bootApp(AppModule);
}

describe.each([
  ['memory', false, {}],
  ['memory, async onLimitReached', false, { onLimitReached: () => delay(50) }],
  ['Redis', true, {}],
  ['Redis, async onLimitReached', true, { onLimitReached: () => delay(50) }],
])('a burst from a client whose limit is spent (%s)', (_, redis, extra) => {
  let app: INestApplication;
  beforeEach(async () => (app = await start(redis, extra)));
  afterEach(() => app.close());

  it('refuses every request of 5 concurrent identical ones with 429 and calls no upstream', async () => {
    const server = app.getHttpServer();
    await request(server).post('/one').send({ prompt: 'spends the limit' }).expect(200);
    expect(app.get(Calls).count).toBe(1);
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(server).post('/one').send({ prompt: 'a new prompt in a burst' }),
      ),
    );
    expect(burst.map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
    expect(app.get(Calls).count).toBe(1);
  });

  it('still answers a burst of an admitted leader COALESCED for free', async () => {
    const server = app.getHttpServer();
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(server).post('/one').send({ prompt: 'one admitted leader' }),
      ),
    );
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(burst.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
    expect(app.get(Calls).count).toBe(1);
    // The leader's admission was the only charge: the limit of 1 is now spent.
    await request(server).post('/one').send({ prompt: 'another prompt' }).expect(429);
  });
});
