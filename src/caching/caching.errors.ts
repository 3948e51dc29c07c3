/**
 * A CachingModule option that cannot work; the message says how to fix it.
 *
 * @example
 * throw new CachingOptionsError('"ttlMs" must be a positive number of milliseconds');
 */
export class CachingOptionsError extends Error {
  override readonly name = 'CachingOptionsError';
}

/**
 * Parameters that cannot be turned into a cache key (too deep, a function, a cycle). The
 * request is served without the cache (BYPASS); `LlmCacheService` callers get this error.
 *
 * @example
 * try { service.keyOf(params); } catch (e) { if (e instanceof CacheKeyError) ... }
 */
export class CacheKeyError extends Error {
  override readonly name = 'CacheKeyError';
}
