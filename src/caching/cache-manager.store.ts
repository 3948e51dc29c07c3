import { digest } from '../redis/redis-keys';
import { type CacheEntry, parseEntry, serializeEntry } from './cache-entry';
import type { CacheL2, GetOrLock } from './redis-cache.store';

/**
 * The part of a `@nestjs/cache-manager` `Cache` (cache-manager 7) the LLM cache uses.
 * cache-manager's TTLs are in milliseconds.
 */
export interface CacheManagerLike {
  get<T>(key: string): Promise<T | undefined | null>;
  set<T>(key: string, value: T, ttl?: number): Promise<T>;
  del(key: string): Promise<boolean>;
}

/**
 * An L2 on the app's `@nestjs/cache-manager` Cache (any Keyv store). Weaker than the Redis
 * L2: no cross-instance lock (single-flight is per process) and tag lists are updated by
 * read-modify-write.
 *
 * @example
 * CachingModule.forRootAsync({ inject: [CACHE_MANAGER], useFactory: (cache: Cache) => ({ store: cache }) })
 */
export class CacheManagerStore implements CacheL2 {
  constructor(
    private readonly cache: CacheManagerLike,
    private readonly prefix: string,
  ) {}

  private key(hash: string): string {
    return `${this.prefix}:${hash}`;
  }

  private tagKey(tag: string): string {
    return `${this.prefix}:tag:${digest(tag, 32)}`;
  }

  async get(hash: string): Promise<CacheEntry | undefined> {
    const raw = await this.cache.get<string>(this.key(hash));
    return typeof raw === 'string' ? parseEntry(raw) : undefined;
  }

  async getOrLock(hash: string): Promise<GetOrLock> {
    const entry = await this.get(hash);
    return entry ? { entry } : { locked: true };
  }

  async setAndUnlock(hash: string, entry: CacheEntry | undefined): Promise<void> {
    if (!entry) return;
    const ttlMs = Math.max(1, entry.expiresAt - Date.now());
    await this.cache.set(this.key(hash), serializeEntry(entry), ttlMs);
    for (const tag of entry.tags ?? []) {
      const hashes = (await this.cache.get<string[]>(this.tagKey(tag))) ?? [];
      if (!hashes.includes(hash))
        await this.cache.set(this.tagKey(tag), [...hashes, hash], Math.max(ttlMs, 1));
    }
  }

  async delete(hash: string): Promise<void> {
    await this.cache.del(this.key(hash));
  }

  async deleteTag(tag: string): Promise<string[]> {
    const hashes = (await this.cache.get<string[]>(this.tagKey(tag))) ?? [];
    await Promise.all(hashes.map((hash) => this.cache.del(this.key(hash))));
    await this.cache.del(this.tagKey(tag));
    return hashes;
  }
}
