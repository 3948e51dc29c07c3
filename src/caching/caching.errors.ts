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

/**
 * `ApiCacheClient` could not get an answer from the upstream (unreachable, timed out). Names
 * the upstream host only (never the path or query). A `@CacheApi` route answers it with a
 * 502 `application/problem+json`.
 *
 * @example
 * try { await apiCache.get(url); } catch (e) { if (e instanceof ApiUpstreamError) e.host; }
 */
export class ApiUpstreamError extends Error {
  override readonly name = 'ApiUpstreamError';
  readonly host: string;

  constructor(url: string, cause: unknown, timedOut = false) {
    const host = hostOf(url);
    super(`Upstream ${host} ${timedOut ? 'did not answer in time' : 'is unreachable'}`, { cause });
    this.host = host;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'upstream';
  }
}
