import type { CacheEntry } from '../src/caching/cache-entry';
import { MemoryCacheStore } from '../src/caching/memory-cache.store';
import { RedisCacheStore } from '../src/caching/redis-cache.store';
import { TieredCacheStore } from '../src/caching/tiered-cache.store';
import { testConnection, uniquePrefix } from './support/test-redis';

const entry = (): CacheEntry => ({
  body: '{"ok":true}',
  status: 200,
  createdAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  model: 'gpt-4o-mini',
  usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, estimated: false },
  latencyMs: 5,
  costUsd: 0,
  exact: true,
});

describe('TieredCacheStore on Redis', () => {
  it("puts the leader's entry in the L1 before the Redis write returns", async () => {
    const redis = await testConnection();
    const store = new TieredCacheStore(
      new MemoryCacheStore(100, 1 << 20),
      new RedisCacheStore(redis, uniquePrefix('tiered')),
      10_000,
    );
    const hash = 'a'.repeat(64);
    const writing = store.set(hash, entry());
    try {
      // The leader's response goes out at this point; the next request must find the entry.
      expect(store.peek(hash, Date.now())?.body).toBe('{"ok":true}');
      await writing;
      expect((await store.l2!.get(hash))?.body).toBe('{"ok":true}');
    } finally {
      await writing.catch(() => undefined);
      redis.destroy();
    }
  });
});
