import { LRUCache } from 'lru-cache';
import type { CacheEntry } from './cache-entry';

interface Held {
  entry: CacheEntry;
  until: number;
}

/**
 * A bounded in-process LRU of entries (the only store without Redis, the L1 with it), on
 * `lru-cache`. Entries are immutable, so it only has to honour expiry, invalidation and its
 * bounds. The tag index shrinks with the entries: whatever removes an entry (eviction,
 * expiry, delete, overwrite, clear) removes it from its tags' sets through `dispose`, and an
 * empty set is dropped, so the index never holds more keys than the cache.
 *
 * @example
 * const l1 = new MemoryCacheStore(1000, 1 << 20);
 */
export class MemoryCacheStore {
  private readonly entries?: LRUCache<string, Held>;
  private readonly tags = new Map<string, Set<string>>();

  constructor(
    maxEntries: number,
    private readonly maxEntryBytes: number,
  ) {
    if (maxEntries > 0)
      this.entries = new LRUCache<string, Held>({
        max: maxEntries,
        dispose: (held, key) => this.unindex(key, held.entry),
      });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** How many tags the index holds (for tests and diagnostics). */
  get tagCount(): number {
    return this.tags.size;
  }

  get(key: string, now = Date.now()): CacheEntry | undefined {
    const found = this.entries?.get(key);
    if (found === undefined) return undefined;
    if (found.until <= now) {
      this.entries!.delete(key);
      return undefined;
    }
    return found.entry;
  }

  /** Keeps the entry until `until` (ms since the epoch) at the latest. */
  set(key: string, entry: CacheEntry, until = entry.expiresAt): void {
    if (!this.entries || entry.body.length > this.maxEntryBytes) return;
    this.entries.set(key, { entry, until: Math.min(until, entry.expiresAt) });
    for (const tag of entry.tags ?? []) {
      let keys = this.tags.get(tag);
      if (!keys) this.tags.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: string): void {
    this.entries?.delete(key);
  }

  /** Deletes the entries of a tag; returns their keys. */
  deleteTag(tag: string): string[] {
    const keys = [...(this.tags.get(tag) ?? [])];
    for (const key of keys) this.entries?.delete(key);
    this.tags.delete(tag);
    return keys;
  }

  clear(): void {
    this.entries?.clear();
    this.tags.clear();
  }

  private unindex(key: string, entry: CacheEntry): void {
    for (const tag of entry.tags ?? []) {
      const keys = this.tags.get(tag);
      if (keys?.delete(key) && keys.size === 0) this.tags.delete(tag);
    }
  }
}
