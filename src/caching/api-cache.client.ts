import { safeJsonParse } from '../common/safe-json';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import type { CacheEntry } from './cache-entry';
import { cacheKeyHash } from './cache-key';
import { GLOBAL_PARTITION } from './cache-partition';
import { LLM_CACHE_STORE } from './caching.constants';
import type { CacheApiOptions } from './caching-options.interface';
import type { TieredCacheStore } from './tiered-cache.store';
import { ApiUpstreamError } from './caching.errors';

export const DEFAULT_API_TTL_MS = 60_000;
export const DEFAULT_API_STALE_TTL_MS = 86_400_000;
export const DEFAULT_API_VARY: readonly string[] = ['accept', 'accept-language'];
export const DEFAULT_API_TIMEOUT_MS = 5_000;

/** How an `ApiCacheClient.get()` was answered (`STALE`: the upstream failed, a stale entry answered). */
export type ApiCacheStatus = 'HIT' | 'MISS' | 'REVALIDATED' | 'BYPASS' | 'STALE';

/** An upstream answer, from the cache or the network. */
export interface ApiCacheResponse<T = unknown> {
  status: number;
  /** The body, parsed when it is JSON, else text. */
  body: T;
  etag?: string;
  lastModified?: string;
  cache: ApiCacheStatus;
}

/** Options of one outbound GET. */
export interface ApiCacheGetOptions extends Pick<
  CacheApiOptions,
  'ttlMs' | 'staleTtlMs' | 'vary' | 'staleIfErrorMs'
> {
  headers?: Record<string, string>;
  /**
   * Longest the upstream may take to answer (headers and body), in ms; then `ApiUpstreamError`.
   * @default 5_000
   */
  timeoutMs?: number;
}

function parseBody(text: string, type: string | null): unknown {
  if (!type?.includes('json')) return text;
  // Not JSON after all: the text as is (JSON never parses to undefined).
  const parsed = safeJsonParse(text);
  return parsed === undefined ? text : parsed;
}

/**
 * Outbound GETs through the cache (the seed's "GitHub API caching"): a fresh entry answers
 * at once; a stale one is revalidated with `If-None-Match` / `If-Modified-Since` and a 304
 * refreshes it; only 2xx answers are stored. Cache errors fall back to a plain fetch. Each
 * fetch has a deadline (`timeoutMs`); an unreachable or timed-out upstream throws
 * `ApiUpstreamError` (a `@CacheApi` route answers it 502), unless `staleIfErrorMs` lets a
 * stale entry answer (`STALE`, also for an upstream 5xx).
 *
 * @example
 * const repo = await apiCache.get<Repo>('https://api.github.com/repos/nestjs/nest', { ttlMs: 60_000 });
 * repo.cache; // 'HIT' | 'MISS' | 'REVALIDATED' | 'BYPASS'
 */
@Injectable()
export class ApiCacheClient {
  private readonly warnOnce = new LogThrottle(new Logger('ApiCache'));

  constructor(@Inject(LLM_CACHE_STORE) private readonly store: TieredCacheStore) {}

  async get<T = unknown>(
    url: string,
    options: ApiCacheGetOptions = {},
  ): Promise<ApiCacheResponse<T>> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {}))
      headers[name.toLowerCase()] = value;
    const vary = options.vary ?? DEFAULT_API_VARY;
    const hash = cacheKeyHash(
      { kind: 'api-client', url, vary: vary.map((name) => headers[name.toLowerCase()] ?? '') },
      GLOBAL_PARTITION,
    );
    let cached: CacheEntry | undefined;
    let broken = false;
    try {
      cached = await this.store.get(hash);
    } catch (error) {
      broken = true;
      this.warn(hash, error);
    }
    const ttlMs = options.ttlMs ?? DEFAULT_API_TTL_MS;
    const now = Date.now();
    if (cached && now - cached.createdAt < ttlMs) return this.answer<T>(cached, 'HIT');
    if (cached?.etag) headers['if-none-match'] = cached.etag;
    else if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
    const started = Date.now();
    const staleOk = (): boolean =>
      cached !== undefined &&
      Date.now() - cached.createdAt - ttlMs <= (options.staleIfErrorMs ?? 0);
    let response: Response;
    let text: string;
    const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS);
    try {
      response = await fetch(url, { headers, signal });
      // Read under the same deadline: a body that never ends is a failure too.
      text = response.status === 304 ? '' : await response.text();
    } catch (error) {
      if (staleOk()) return this.answer<T>(cached!, 'STALE');
      throw new ApiUpstreamError(url, error, signal.aborted);
    }
    if (response.status >= 500 && staleOk()) return this.answer<T>(cached!, 'STALE');
    if (response.status === 304 && cached) {
      const refreshed = { ...cached, createdAt: Date.now(), expiresAt: this.expiry(options) };
      if (!broken) await this.save(hash, refreshed);
      return this.answer<T>(refreshed, 'REVALIDATED');
    }
    const type = response.headers.get('content-type');
    const result: ApiCacheResponse<T> = {
      status: response.status,
      body: parseBody(text, type) as T,
      etag: response.headers.get('etag') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
      cache: broken ? 'BYPASS' : 'MISS',
    };
    if (!broken && response.ok) {
      await this.save(hash, {
        body: text,
        status: response.status,
        createdAt: Date.now(),
        expiresAt: this.expiry(options),
        model: type ?? '',
        usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, estimated: false },
        latencyMs: Date.now() - started,
        costUsd: 0,
        exact: true,
        etag: result.etag,
        lastModified: result.lastModified,
      });
    }
    return result;
  }

  private expiry(options: ApiCacheGetOptions): number {
    return Date.now() + (options.staleTtlMs ?? DEFAULT_API_STALE_TTL_MS);
  }

  private async save(hash: string, entry: CacheEntry): Promise<void> {
    try {
      await this.store.set(hash, entry);
    } catch (error) {
      this.warn(hash, error);
    }
  }

  private answer<T>(entry: CacheEntry, cache: ApiCacheStatus): ApiCacheResponse<T> {
    return {
      status: entry.status,
      body: parseBody(entry.body, entry.model) as T,
      etag: entry.etag,
      lastModified: entry.lastModified,
      cache,
    };
  }

  private warn(hash: string, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.warnOnce.warn(
      'api-cache',
      `API cache failed for key ${hash}; going upstream: ${reason.slice(0, 200)}`,
    );
  }
}
