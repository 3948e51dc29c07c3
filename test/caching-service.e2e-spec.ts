import { CACHE_MANAGER, CacheModule, type Cache } from '@nestjs/cache-manager';
import { Test } from '@nestjs/testing';
import { CachingModule, LlmCacheService, RedisModule } from '../src';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const secret = 'service-spec-partition-secret-0123456789';

describe.each([
  ['memory', false],
  ['Redis', true],
])('LlmCacheService (%s)', (_, withRedis) => {
  async function service() {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ...(withRedis ? [RedisModule.forRoot(testRedisOptions())] : []),
        CachingModule.forRoot({ partitionSecret: secret, keyPrefix: uniquePrefix('svc') }),
      ],
    }).compile();
    await moduleRef.init();
    return { cache: moduleRef.get(LlmCacheService), close: () => moduleRef.close() };
  }

  const response = {
    model: 'gpt-4o-mini',
    choices: [{ message: { content: 'Paris' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1 },
  };

  it("supports the seed's usage: get -> null on a miss, set, then get returns it", async () => {
    const { cache, close } = await service();
    const params = {
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: 'Capital of France?',
      temperature: 0,
    };
    expect(await cache.get(params)).toBeNull();
    await cache.set(params, response);
    expect(await cache.get(params)).toEqual(response);
    expect(await cache.get({ ...params, temperature: 1 })).toBeNull();
    await close();
  });

  it('wrap calls fn once for concurrent identical calls and then serves the cache', async () => {
    const { cache, close } = await service();
    let calls = 0;
    const fn = async () => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      return response;
    };
    const params = { model: 'gpt-4o-mini', prompt: 'wrap' };
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.wrap(params, fn)));
    expect(results.every((r) => r.choices[0]?.message.content === 'Paris')).toBe(true);
    expect(await cache.wrap(params, fn)).toEqual(response);
    expect(calls).toBe(1);
    const stats = await cache.stats();
    expect(stats).toMatchObject({ misses: 1, coalesced: 19, hits: 1 });
    await close();
  });

  it('lets waiters call fn themselves when the leader result cannot be stored (not JSON)', async () => {
    const { cache, close } = await service();
    let calls = 0;
    const fn = async () => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      return { model: 'gpt-4o-mini', big: 1n };
    };
    const results = await Promise.all(
      Array.from({ length: 3 }, () => cache.wrap({ model: 'gpt-4o-mini', prompt: 'bigint' }, fn)),
    );
    expect(results.every((r) => r.big === 1n)).toBe(true);
    expect(calls).toBe(3);
    await close();
  });

  it('invalidate and invalidateTag remove entries', async () => {
    const { cache, close } = await service();
    const a = { model: 'gpt-4o-mini', prompt: 'a' };
    const b = { model: 'gpt-4o-mini', prompt: 'b' };
    await cache.set(a, response);
    await cache.invalidate(a);
    expect(await cache.get(a)).toBeNull();
    await cache.set(a, response, { tags: ['docs'] });
    await cache.set(b, response, { tags: ['docs'] });
    expect(await cache.invalidateTag('docs')).toBe(2);
    expect(await cache.get(a)).toBeNull();
    expect(await cache.get(b)).toBeNull();
    await close();
  });

  it('estimates usage when the response has none and flags the savings as estimated', async () => {
    const { cache, close } = await service();
    const params = { model: 'my-private-model', prompt: 'estimate' };
    await cache.set(params, { model: 'my-private-model', text: 'an answer without usage' });
    await cache.get(params);
    const stats = await cache.stats();
    expect(stats.estimated).toBe(true);
    expect(stats.tokensSaved).toBeGreaterThan(0);
    await close();
  });
});

describe("LlmCacheService on the app's @nestjs/cache-manager Cache", () => {
  it('stores entries in the cache-manager Cache (L2) and reads them back after L1 forgets', async () => {
    const keyPrefix = uniquePrefix('svc-cm');
    const moduleRef = await Test.createTestingModule({
      imports: [
        CacheModule.register({ isGlobal: true }),
        CachingModule.forRootAsync({
          inject: [CACHE_MANAGER],
          useFactory: (store: Cache) => ({
            store,
            partitionSecret: secret,
            keyPrefix,
            l1: { ttlMs: 0 },
          }),
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const cache = moduleRef.get(LlmCacheService);
      const params = { model: 'gpt-4o-mini', prompt: 'cache-manager' };
      const response = {
        model: 'gpt-4o-mini',
        choices: [{ message: { content: 'yes' }, finish_reason: 'stop' }],
      };
      expect(await cache.get(params)).toBeNull();
      await cache.set(params, response, { tags: ['cm'] });
      const raw = await moduleRef
        .get<Cache>(CACHE_MANAGER)
        .get<string>(`${keyPrefix}:${cache.keyOf(params)}`);
      expect(raw).toContain('"content":"yes"');
      expect(await cache.get(params)).toEqual(response);
      expect(await cache.invalidateTag('cm')).toBe(1);
      expect(await cache.get(params)).toBeNull();
    } finally {
      await moduleRef.close();
    }
  });
});
