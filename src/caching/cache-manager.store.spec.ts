import { createCache } from 'cache-manager';
import { setTimeout as delay } from 'node:timers/promises';
import type { CacheEntry } from './cache-entry';
import { CacheManagerStore } from './cache-manager.store';

const entry = (ttlMs: number, tags: string[]): CacheEntry => {
  const now = Date.now();
  return {
    body: '{"ok":true}',
    status: 200,
    createdAt: now,
    expiresAt: now + ttlMs,
    model: 'm',
    usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, estimated: false },
    latencyMs: 1,
    costUsd: 0,
    exact: true,
    tags,
  };
};

describe('CacheManagerStore (on a real cache-manager 7 Cache)', () => {
  it('keeps a tag list as long as its longest-lived entry, so invalidateTag still finds older entries', async () => {
    const store = new CacheManagerStore(createCache(), 'llm:cache');
    await store.setAndUnlock('long', entry(60_000, ['docs']));
    await store.setAndUnlock('short', entry(20, ['docs']));
    await delay(40); // the short entry (and, before the fix, the tag list) expires
    expect(await store.get('long')).toBeDefined();
    expect(await store.deleteTag('docs')).toContain('long');
    expect(await store.get('long')).toBeUndefined();
  });
});
