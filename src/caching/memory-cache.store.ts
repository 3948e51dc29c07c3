import type { CacheEntry } from './cache-entry';

/**
 * A bounded in-process LRU of entries (the only store without Redis, the L1 with it).
 * Entries are immutable, so it only has to honour expiry, invalidation and its bounds.
 *
 * @example
 * const l1 = new MemoryCacheStore(1000, 1 << 20);
 */
export class MemoryCacheStore {
  private readonly entries = new Map<string, { entry: CacheEntry; until: number }>();
  private readonly tags = new Map<string, Set<string>>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxEntryBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): CacheEntry | undefined {
    const found = this.entries.get(key);
    if (found === undefined) return undefined;
    if (found.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert to mark it most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, found);
    return found.entry;
  }

  /** Keeps the entry until `until` (ms since the epoch) at the latest. */
  set(key: string, entry: CacheEntry, until = entry.expiresAt): void {
    if (this.maxEntries === 0 || entry.body.length > this.maxEntryBytes) return;
    this.entries.delete(key);
    this.entries.set(key, { entry, until: Math.min(until, entry.expiresAt) });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    for (const tag of entry.tags ?? []) {
      let keys = this.tags.get(tag);
      if (!keys) this.tags.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Deletes the entries of a tag; returns their keys. */
  deleteTag(tag: string): string[] {
    const keys = [...(this.tags.get(tag) ?? [])];
    for (const key of keys) this.entries.delete(key);
    this.tags.delete(tag);
    return keys;
  }

  clear(): void {
    this.entries.clear();
    this.tags.clear();
  }
}
