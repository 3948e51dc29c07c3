import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  RedisModule,
  ThrottlingModule,
  type ThrottlingStatsSnapshot,
  ThrottlingStats,
} from '../src';
import { Calls, completion } from './support/caching-test-app';
import { bootApp } from './support/boot-app';
import { inspectClient, testRedisOptions, uniquePrefix } from './support/test-redis';

// The real CachingModule and ThrottlingModule together: a cache hit on an @LLMThrottle route
// consumes neither its request limit nor its token budget, whichever decorator comes first.

@Controller()
class LlmRoutes {
  constructor(private readonly calls: Calls) {}

  @Post('throttle-first')
  @HttpCode(200)
  @LLMThrottle({ policy: 'tiny', tokensPerMinute: 10_000 })
  @CacheLLM({ scope: 'global' })
  throttleFirst(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`answer to ${body.prompt}`);
  }

  @Post('cache-first')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  @LLMThrottle({ policy: 'tiny', tokensPerMinute: 10_000 })
  cacheFirst(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`answer to ${body.prompt}`);
  }

  /** Upstream takes a moment, so identical requests arrive while it is in flight. */
  @Post('slow')
  @HttpCode(200)
  @LLMThrottle({ policy: 'tiny', tokensPerMinute: 10_000 })
  @CacheLLM({ scope: 'global' })
  async slow(@Body() body: { prompt: string }) {
    this.calls.count++;
    await new Promise((resolve) => setTimeout(resolve, 150));
    return completion(`answer to ${body.prompt}`);
  }

  @Post('counted')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  @LLMThrottle({ policy: 'tiny', countCacheHits: true })
  counted(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`answer to ${body.prompt}`);
  }
}

async function start(
  redis: boolean,
  throttlePrefix = uniquePrefix('rl-cache'),
): Promise<INestApplication> {
  @Module({
    imports: [
      ...(redis ? [RedisModule.forRoot(testRedisOptions())] : []),
      CachingModule.forRoot({
        keyPrefix: uniquePrefix('cache-rl'),
        partitionSecret: 'caching-throttling-spec-secret-0123456789',
      }),
      ThrottlingModule.forRoot({
        keyPrefix: throttlePrefix,
        policies: { tiny: { limit: 3, ttlMs: 60_000 } },
      }),
    ],
    controllers: [LlmRoutes],
    providers: [Calls],
  })
  class AppModule {}
  return bootApp(AppModule);
}

describe.each([
  ['memory', false],
  ['Redis', true],
])('CachingModule with ThrottlingModule (%s)', (_, redis) => {
  let app: INestApplication;
  beforeEach(async () => (app = await start(redis)));
  afterEach(() => app.close());

  it.each(['throttle-first', 'cache-first'])(
    'lets cache hits through an exhausted request limit on /%s',
    async (route) => {
      const http = request(app.getHttpServer());
      const miss = await http.post(`/${route}`).send({ prompt: 'same' }).expect(200);
      expect(miss.headers['x-cache']).toBe('MISS');
      expect(miss.headers['ratelimit']).toMatch(/r=2;/);
      // Ten hits later the limit of 3 still has 2 left: hits consumed nothing.
      for (let i = 0; i < 10; i++) {
        const hit = await http.post(`/${route}`).send({ prompt: 'same' }).expect(200);
        expect(hit.headers['x-cache']).toBe('HIT');
      }
      await http.post(`/${route}`).send({ prompt: 'other 1' }).expect(200);
      await http.post(`/${route}`).send({ prompt: 'other 2' }).expect(200);
      const over = await http.post(`/${route}`).send({ prompt: 'other 3' });
      expect(over.status).toBe(429);
      // Still a hit when the limit is spent: cached answers cost nothing, so they are not refused.
      const hit = await http.post(`/${route}`).send({ prompt: 'same' }).expect(200);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(app.get(Calls).count).toBe(3);
    },
  );

  it('30 concurrent identical prompts from one client: 0 rejected, 1 charged (COALESCED answers are free like hits)', async () => {
    const stats = app.get(ThrottlingStats);
    const server = app.getHttpServer();
    const responses = await Promise.all(
      Array.from({ length: 30 }, () =>
        request(server).post('/slow').send({ prompt: 'burst of the same question' }),
      ),
    );
    expect(responses.filter((r) => r.status === 429)).toHaveLength(0);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(app.get(Calls).count).toBe(1);
    expect(responses.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
    const snapshot = (await stats.snapshot()) as ThrottlingStatsSnapshot;
    // One request counted by the limit (3): two more distinct prompts still fit, a third does not.
    expect(snapshot.budgets['tiny:tokens']!.consumed).toBe(30);
    await request(server).post('/slow').send({ prompt: 'another 1' }).expect(200);
    await request(server).post('/slow').send({ prompt: 'another 2' }).expect(200);
    await request(server).post('/slow').send({ prompt: 'another 3' }).expect(429);
  });

  it('counts cache hits against the limit when countCacheHits is set', async () => {
    const http = request(app.getHttpServer());
    await http.post('/counted').send({ prompt: 'same' }).expect(200);
    await http.post('/counted').send({ prompt: 'same' }).expect(200);
    await http.post('/counted').send({ prompt: 'same' }).expect(200);
    const over = await http.post('/counted').send({ prompt: 'same' });
    expect(over.status).toBe(429);
    expect(app.get(Calls).count).toBe(1);
  });

  it.each(['throttle-first', 'cache-first'])(
    'settles a miss on /%s to the usage the response reports, whatever the decorator order',
    async (route) => {
      const http = request(app.getHttpServer());
      const stats = async () =>
        ((await app.get(ThrottlingStats).snapshot()) as ThrottlingStatsSnapshot).budgets[
          'tiny:tokens'
        ]?.consumed ?? 0;
      const before = await stats();
      await http
        .post(`/${route}`)
        .send({ prompt: `usage of ${route}` })
        .expect(200);
      // completion() reports 10 prompt + 20 completion tokens.
      expect((await stats()) - before).toBe(30);
    },
  );

  it('leaves the token budget untouched by hits', async () => {
    const http = request(app.getHttpServer());
    await http.post('/throttle-first').send({ prompt: 'budget' }).expect(200);
    const before = ((await app.get(ThrottlingStats).snapshot()) as ThrottlingStatsSnapshot).budgets;
    for (let i = 0; i < 5; i++) await http.post('/throttle-first').send({ prompt: 'budget' });
    const after = ((await app.get(ThrottlingStats).snapshot()) as ThrottlingStatsSnapshot).budgets;
    expect(after).toEqual(before);
    // A miss does move it, so the comparison above can fail.
    await http.post('/throttle-first').send({ prompt: 'budget 2' }).expect(200);
    const missed = ((await app.get(ThrottlingStats).snapshot()) as ThrottlingStatsSnapshot).budgets;
    expect(missed['tiny:tokens']!.consumed).toBeGreaterThan(before['tiny:tokens']!.consumed);
  });
});

describe('CachingModule with ThrottlingModule on Redis: keys', () => {
  it('writes no rate-limit key for a cache hit', async () => {
    const prefix = uniquePrefix('rl-cache');
    const app = await start(true, prefix);
    const inspect = await inspectClient();
    try {
      const http = request(app.getHttpServer());
      await http.post('/throttle-first').send({ prompt: 'keys' }).expect(200);
      const keysAfterMiss = await inspect.keys(`${prefix}*`);
      const ttls = await Promise.all(keysAfterMiss.map((key) => inspect.redis.pTTL(key)));
      for (let i = 0; i < 5; i++) await http.post('/throttle-first').send({ prompt: 'keys' });
      // No key appears.
      const keysAfterHits = await inspect.keys(`${prefix}*`);
      expect(keysAfterHits.filter((key) => !keysAfterMiss.includes(key))).toEqual([]);
      expect(keysAfterMiss.some((key) => key.endsWith(':tiny'))).toBe(true);
      // Keys are rewritten on every admission; a hit leaves their expiry where it was.
      const later = await Promise.all(keysAfterMiss.map((key) => inspect.redis.pTTL(key)));
      later.forEach((ttl, i) => expect(ttl).toBeLessThanOrEqual(ttls[i]!));
    } finally {
      inspect.close();
      await app.close();
    }
  });
});
