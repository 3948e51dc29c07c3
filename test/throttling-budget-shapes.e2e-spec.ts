import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ThrottlingStats, type ThrottlingModuleOptions } from '../src';
import { estimateValueTokens } from '../src/llm/llm-usage';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { HOUR_MS, throttledApp } from './throttling-test-app';

const shapesApp = (store: 'redis' | 'memory', extra: ThrottlingModuleOptions = {}) =>
  throttledApp({
    throttling: {
      keyPrefix: uniquePrefix('throttle-shapes'),
      policies: { llm: { limit: 1000, ttlMs: HOUR_MS } },
      llm: { tokensPerMinute: 100_000, defaultMaxTokens: 100, ...extra.llm },
      ...extra,
    },
    redis: store === 'redis' ? testRedisOptions() : undefined,
  });

const consumed = async (app: INestApplication, budget = 'llm:tokens'): Promise<number> =>
  (await app.get(ThrottlingStats).snapshot()).budgets[budget]?.consumed ?? 0;

describe.each(['redis', 'memory'] as const)(
  'budgets settle on every response shape (%s)',
  (store) => {
    let app: INestApplication;
    afterEach(() => app.close());

    it('JSON: the usage the body reports', async () => {
      app = await shapesApp(store);
      await request(app.getHttpServer())
        .post('/llm')
        .send({ prompt: 'hello', usageIn: 40, usageOut: 60 })
        .expect(200);
      expect(await consumed(app)).toBe(100);
    });

    it('AsyncIterable with no usage: the prompt plus the streamed text (never zero)', async () => {
      app = await shapesApp(store);
      const res = await request(app.getHttpServer())
        .post('/llm-async')
        .send({ prompt: 'hello', chunks: 20 })
        .expect(200);
      expect(res.text).toContain('x'.repeat(40));
      // 20 chunks of 40 characters: 800 characters, about 200 tokens.
      expect(await consumed(app)).toBe(estimateValueTokens('hello') + 200);
    });

    it("the openai SDK's Stream object: the usage of its final chunk", async () => {
      app = await shapesApp(store);
      const res = await request(app.getHttpServer())
        .post('/llm-sdk-stream')
        .send({ prompt: 'hello', usageIn: 120, usageOut: 680 })
        .expect(200);
      expect(res.text).toContain('hello');
      expect(await consumed(app)).toBe(800);
    });

    it('@Sse(): the usage of the final event', async () => {
      app = await shapesApp(store);
      const res = await request(app.getHttpServer()).get('/llm-sse').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(await consumed(app)).toBe(500);
    });

    it('@Sse() without usage: estimated from the streamed text', async () => {
      app = await shapesApp(store);
      await request(app.getHttpServer()).get('/llm-sse?noUsage=1').expect(200);
      // 10 events of 40 characters; a GET has no prompt.
      expect(await consumed(app)).toBe(100);
    });

    it('prices model names that are Object.prototype members at unknownModelPrice (not NaN, no lockout)', async () => {
      app = await shapesApp(store, {
        llm: { usdPerDay: 1 },
        unknownModelPrice: { input: 1000, output: 1000 },
      });
      const http = request(app.getHttpServer());
      for (const model of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
        await http
          .post('/llm')
          .send({ model, prompt: 'x', max_tokens: 10, usageIn: 10, usageOut: 10 })
          .expect(200);
      // 20 tokens at $1000 per 1M each time.
      expect(await consumed(app, 'llm:usd')).toBeCloseTo(0.08, 6);
      await http.post('/llm').send({ prompt: 'x', max_tokens: 10 }).expect(200);
    });

    it('refuses a request whose own reservation exceeds the whole budget with 413 "can never fit", no Retry-After', async () => {
      // (under Express's 100 kB body limit, which would answer 413 on its own)
      app = await shapesApp(store, { llm: { tokensPerMinute: 5_000 } });
      const res = await request(app.getHttpServer())
        .post('/llm')
        .send({ prompt: 'a'.repeat(30_000) })
        .expect(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(res.body.detail).toMatch(/can never fit/);
      expect(res.body.policies.map((p: { name: string }) => p.name)).toEqual(['llm:tokens']);
      // Nothing was spent: a normal request still fits.
      await request(app.getHttpServer()).post('/llm').send({ prompt: 'x' }).expect(200);
    });
  },
);
