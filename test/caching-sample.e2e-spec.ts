import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DEFAULT_PRICES, PriceTable } from '../src/llm/llm-pricing';
import { LlmProvider } from '../sample/llm/llm-provider';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { testPlatform } from './support/platform';
import { inspectClient, sampleRedis, uniquePrefix } from './support/test-redis';

const body = {
  provider: 'openai',
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'What does a cache save?' }],
  temperature: 0,
  max_tokens: 500,
  user: 'alice',
};

describe.each([
  ['memory', () => ({})],
  ['Redis', () => sampleRedis()],
])('CachingModule in the sample app (%s)', (_, storeOptions) => {
  let app: INestApplication;
  const latency = process.env.LLM_LATENCY_MS;

  beforeAll(() => (process.env.LLM_LATENCY_MS = '20'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));
  beforeEach(async () => {
    app = await startSampleApp({
      ...storeOptions(),
      caching: { keyPrefix: uniquePrefix('cache-sample') },
      throttling: relaxedThrottling(),
    });
  });
  afterEach(() => app.close());

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    request(app.getHttpServer())
      .post('/llm/generate')
      .set(headers)
      .send(payload as object);

  it('answers MISS then HIT with the same body, Age and the cost saved', async () => {
    const miss = await post(body).expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await post(body).expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    expect(hit.headers['content-type']).toMatch(/^application\/json/);
    expect(Number(hit.headers['age'])).toBeGreaterThanOrEqual(0);
    const expected = new PriceTable().cost('gpt-4o-mini', {
      inputTokens: miss.body.usage.prompt_tokens,
      cachedInputTokens: 0,
      outputTokens: miss.body.usage.completion_tokens,
      estimated: false,
    });
    expect(Number(hit.headers['x-cache-cost-saved'])).toBeCloseTo(expected, 6);
    expect(app.get(LlmProvider).calls).toBe(1);
  });

  it('is a HIT with keys reordered or another `user`, a MISS for another model, temperature, max_tokens or message', async () => {
    await post(body).expect(200);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await post(reordered)).headers['x-cache']).toBe('HIT');
    expect((await post({ ...body, user: 'bob' })).headers['x-cache']).toBe('HIT');
    for (const change of [
      { model: 'gpt-4o' },
      { temperature: 0.5 },
      { max_tokens: 400 },
      { messages: [{ role: 'user', content: 'What does a cache cost?' }] },
    ]) {
      expect((await post({ ...body, ...change })).headers['x-cache']).toBe('MISS');
    }
    expect(app.get(LlmProvider).calls).toBe(5);
  });

  it('counts 1 miss + 1 hit as hitRate 50 with the entry cost as savings (GET /stats/cache)', async () => {
    const miss = await post(body).expect(200);
    await post(body).expect(200);
    const stats = (await request(app.getHttpServer()).get('/stats/cache').expect(200)).body;
    const usage = miss.body.usage;
    const price = DEFAULT_PRICES['gpt-4o-mini']!;
    const cost =
      (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000;
    expect(stats).toMatchObject({ hits: 1, misses: 1, coalesced: 0, bypassed: 0, hitRate: 50 });
    expect(stats.estimatedSavingsUsd).toBeCloseTo(cost, 6);
    expect(stats.estimatedSavings).toBe(`$${cost.toFixed(2)}`);
    expect(stats.tokensSaved).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(stats.estimated).toBe(false);
    expect(stats.byModel['gpt-4o-mini']).toMatchObject({ hits: 1, misses: 1 });
    expect(stats.byRoute['POST /llm/generate']).toMatchObject({ hits: 1, misses: 1 });
    expect(stats.byRoute['POST /llm/generate'].savingsUsd).toBeCloseTo(cost, 6);
  });

  it('honours Cache-Control: no-store (no read, no write), no-cache (refresh) and max-age', async () => {
    expect((await post(body, { 'cache-control': 'no-store' })).headers['x-cache']).toBe('BYPASS');
    expect((await post(body)).headers['x-cache']).toBe('MISS');
    expect((await post(body, { 'cache-control': 'no-cache' })).headers['x-cache']).toBe('BYPASS');
    expect(app.get(LlmProvider).calls).toBe(3);
    expect((await post(body, { 'cache-control': 'max-age=3600' })).headers['x-cache']).toBe('HIT');
    expect((await post(body, { 'cache-control': 'max-age=0' })).headers['x-cache']).toBe('BYPASS');
    const stats = (await request(app.getHttpServer()).get('/stats/cache')).body;
    expect(stats).toMatchObject({ hits: 1, misses: 1, bypassed: 3 });
  });

  it('does not cache a `length` finish', async () => {
    const short = { ...body, max_tokens: 2 };
    const first = await post(short).expect(200);
    expect(first.body.choices[0].finish_reason).toBe('length');
    expect((await post(short)).headers['x-cache']).toBe('MISS');
    expect(app.get(LlmProvider).calls).toBe(2);
  });

  it('answers 400 to unusable bodies and caches nothing for them', async () => {
    for (const [payload, type] of [
      ['not json', 'text/plain'],
      ['{"model":', 'application/json'],
      ['[1,2,3]', 'application/json'],
    ] as const) {
      const res = await request(app.getHttpServer())
        .post('/llm/generate')
        .set('content-type', type)
        .send(payload);
      expect(res.status).toBe(400);
    }
    expect(app.get(LlmProvider).calls).toBe(0);
  });
});

describe('CachingModule keys in Redis', () => {
  it('keeps no prompt text in keys and a fixed key length, for a 1 MB prompt, deep nesting and __proto__ keys', async () => {
    const prefix = uniquePrefix('cache-keys');
    const app = await startSampleApp({
      ...sampleRedis(),
      caching: { keyPrefix: prefix },
      throttling: relaxedThrottling(),
    });
    const redis = await inspectClient();
    try {
      const huge = { model: 'gpt-4o-mini', prompt: 'secret-prompt '.repeat(75_000) };
      expect((await request(app.getHttpServer()).post('/llm/generate').send(huge)).status).toBe(
        200,
      );
      const deep = `${'['.repeat(5000)}"bottom"${']'.repeat(5000)}`;
      const nested = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${deep}}]}`;
      const res = await request(app.getHttpServer())
        .post('/llm/generate')
        .set('content-type', 'application/json')
        .send(nested);
      // The cache cannot key it (no crash); the handler's validation answers 400, a response
      // the cache did not handle: no X-Cache.
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/nests deeper/);
      expect(res.headers['x-cache']).toBeUndefined();
      const proto = JSON.parse(
        '{"model":"gpt-4o-mini","prompt":"proto","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      ) as object;
      const a = await request(app.getHttpServer()).post('/llm/generate').send(proto);
      const b = await request(app.getHttpServer()).post('/llm/generate').send(proto);
      const onFastify = testPlatform() === 'fastify';
      if (onFastify) {
        // Fastify's own body parser refuses __proto__ and constructor.prototype keys
        // (onProtoPoisoning / constructorPoisoning: 'error'): a 400 before the cache sees it.
        expect([a.status, a.headers['x-cache'], b.status]).toEqual([400, undefined, 400]);
        expect(a.body.message).toMatch(/not valid JSON/);
      } else expect([a.status, b.headers['x-cache']]).toEqual([200, 'HIT']);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      const keys = await redis.keys(`${prefix}*`);
      const entryKeys = keys.filter((key) => /^.*:\{[0-9a-f]{64}\}$/.test(key));
      expect(entryKeys).toHaveLength(onFastify ? 1 : 2);
      for (const key of keys) {
        expect(key).not.toMatch(/secret|proto|bottom/);
        expect(key.length).toBeLessThan(prefix.length + 80);
      }
      expect(new Set(entryKeys.map((key) => key.length)).size).toBe(1);
    } finally {
      redis.close();
      await app.close();
    }
  });
});
