import type { CacheEntry } from './cache-entry';
import { MemoryCacheStore } from './memory-cache.store';

const entry = (tags: string[], ttlMs = 60_000): CacheEntry => ({
  body: '{"ok":true}',
  status: 200,
  createdAt: Date.now(),
  expiresAt: Date.now() + ttlMs,
  model: 'gpt-4o-mini',
  usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, estimated: false },
  latencyMs: 5,
  costUsd: 0,
  exact: true,
  tags,
});

describe('MemoryCacheStore tag index', () => {
  it('shrinks with the entries: 5,000 tagged sets into 10 entries leave the tags of 10', () => {
    const store = new MemoryCacheStore(10, 1 << 20);
    for (let i = 0; i < 5000; i++) store.set(`k${i}`, entry([`tag-${i}`, 'shared']));
    expect(store.size).toBe(10);
    expect(store.tagCount).toBe(11);
    expect(store.deleteTag('shared').sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `k${4990 + i}`).sort(),
    );
    expect([store.size, store.tagCount]).toEqual([0, 0]);
  });

  it('drops the tags of an entry that expired, was deleted or was overwritten', () => {
    const store = new MemoryCacheStore(10, 1 << 20);
    store.set('expired', entry(['a'], 10));
    expect(store.get('expired', Date.now() + 20)).toBeUndefined();
    store.set('deleted', entry(['b']));
    store.delete('deleted');
    store.set('overwritten', entry(['c']));
    store.set('overwritten', entry(['d']));
    expect(store.tagCount).toBe(1);
    expect(store.deleteTag('c')).toEqual([]);
    expect(store.deleteTag('d')).toEqual(['overwritten']);
    expect(store.get('overwritten')).toBeUndefined();
  });

  it('keeps the most recently used entries', () => {
    const store = new MemoryCacheStore(2, 1 << 20);
    store.set('a', entry([]));
    store.set('b', entry([]));
    store.get('a');
    store.set('c', entry([]));
    expect([store.get('a'), store.get('b'), store.get('c')].map(Boolean)).toEqual([
      true,
      false,
      true,
    ]);
  });
});
