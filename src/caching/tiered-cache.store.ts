import type { CacheEntry } from './cache-entry';
import type { MemoryCacheStore } from './memory-cache.store';
import type { CacheL2, GetOrLock } from './redis-cache.store';

/**
 * L1 (memory) in front of an optional L2 (Redis, or the app's cache-manager Cache). Reads try L1 first; an L2 hit is copied
 * into L1 for at most `l1TtlMs`. Errors of L2 reach the caller, which decides (BYPASS).
 *
 * @example
 * const store = new TieredCacheStore(new MemoryCacheStore(1000, 1 << 20), redisStore, 10_000);
 */
export class TieredCacheStore {
  constructor(
    readonly l1: MemoryCacheStore,
    readonly l2: CacheL2 | undefined,
    private readonly l1TtlMs: number,
  ) {}

  /** The entry from L1 only, without a promise (the hot path). */
  peek(hash: string, now: number): CacheEntry | undefined {
    return this.l1.get(hash, now);
  }

  get(hash: string): Promise<CacheEntry | undefined> {
    const now = Date.now();
    const local = this.l1.get(hash, now);
    if (local || !this.l2) return Promise.resolve(local);
    return this.l2.get(hash).then((entry) => {
      if (entry) this.remember(hash, entry, now);
      return entry;
    });
  }

  remember(hash: string, entry: CacheEntry, now = Date.now()): void {
    if (this.l2 && this.l1TtlMs > 0) this.l1.set(hash, entry, now + this.l1TtlMs);
  }

  getOrLock(hash: string, token: string, lockTtlMs: number, overStale = false): Promise<GetOrLock> {
    if (!this.l2) return Promise.resolve({ locked: true });
    return this.l2.getOrLock(hash, token, lockTtlMs, overStale);
  }

  /** Whether another call for `hash` holds the L2 lock (false without an L2 that has locks). */
  lockHeld(hash: string): Promise<boolean> {
    return this.l2?.lockHeld ? this.l2.lockHeld(hash) : Promise.resolve(false);
  }

  /** Stores an entry (in both tiers) and releases the lock held with `token`. */
  async set(hash: string, entry: CacheEntry | undefined, token?: string): Promise<void> {
    if (!this.l2) {
      if (entry) this.l1.set(hash, entry);
      return;
    }
    // L1 first, synchronously: the leader's response goes out before the Redis write
    // returns, and the same client's next request must be a HIT here, not a wait on the lock.
    if (entry) this.remember(hash, entry);
    await this.l2.setAndUnlock(hash, entry, token);
  }

  async delete(hash: string): Promise<void> {
    this.l1.delete(hash);
    await this.l2?.delete(hash);
  }

  async deleteTag(tag: string): Promise<number> {
    const local = this.l1.deleteTag(tag);
    if (!this.l2) return local.length;
    const remote = await this.l2.deleteTag(tag);
    for (const hash of remote) this.l1.delete(hash);
    return remote.length;
  }
}
