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

/** The stored list of a tag's entries and when its last entry expires (ms since the epoch). */
interface TagList {
  hashes: string[];
  expiresAt: number;
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

  async getOrLock(
    hash: string,
    _token?: string,
    _lockTtlMs?: number,
    overStale = false,
  ): Promise<GetOrLock> {
    const entry = overStale ? undefined : await this.get(hash);
    return entry ? { entry } : { locked: true };
  }

  async setAndUnlock(hash: string, entry: CacheEntry | undefined): Promise<void> {
    if (!entry) return;
    const now = Date.now();
    const ttlMs = Math.max(1, entry.expiresAt - now);
    await this.cache.set(this.key(hash), serializeEntry(entry), ttlMs);
    for (const tag of entry.tags ?? []) {
      const list = await this.tagList(tag);
      // The list lives as long as its longest-lived entry: a shorter TTL would drop it
      // while older entries it names are still there, and invalidateTag would miss them.
      const expiresAt = Math.max(list.expiresAt, entry.expiresAt);
      if (list.hashes.includes(hash) && expiresAt === list.expiresAt) continue;
      const hashes = list.hashes.includes(hash) ? list.hashes : [...list.hashes, hash];
      await this.cache.set<TagList>(this.tagKey(tag), { hashes, expiresAt }, expiresAt - now);
    }
  }

  /** A tag's list; the bare array of older versions counts as expiring now. */
  private async tagList(tag: string): Promise<TagList> {
    const raw = await this.cache.get<TagList | string[]>(this.tagKey(tag));
    if (Array.isArray(raw)) return { hashes: raw, expiresAt: 0 };
    return raw && Array.isArray(raw.hashes) ? raw : { hashes: [], expiresAt: 0 };
  }

  async delete(hash: string): Promise<void> {
    await this.cache.del(this.key(hash));
  }

  async deleteTag(tag: string): Promise<string[]> {
    const { hashes } = await this.tagList(tag);
    await Promise.all(hashes.map((hash) => this.cache.del(this.key(hash))));
    await this.cache.del(this.tagKey(tag));
    return hashes;
  }
}
