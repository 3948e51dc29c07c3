import { type CacheEntry, isFresh } from './cache-entry';

/** The result of a lookup: an entry, a miss, or a store error (BYPASS). */
export interface CacheLookup {
  hash: string;
  entry?: CacheEntry;
  /** An expired entry kept for `staleIfErrorMs`: a miss, but an answer if upstream fails. */
  stale?: CacheEntry;
  /** Set when the store failed (the entry is then unknown). */
  error?: unknown;
}

/** A lookup's entry sorted into fresh (an answer) or stale (an answer on upstream errors only). */
export function sortEntry(
  hash: string,
  entry: CacheEntry | undefined,
): Pick<CacheLookup, 'hash' | 'entry' | 'stale'> {
  if (entry === undefined || isFresh(entry)) return { hash, entry };
  return { hash, stale: entry };
}
