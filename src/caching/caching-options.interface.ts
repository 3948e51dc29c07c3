import type { Request } from 'express';
import type { ModelPrice } from '../llm/llm-pricing';
import type { LlmUsage } from '../llm/llm-usage';
import type { CacheManagerLike } from './cache-manager.store';

/**
 * Who shares an entry. `'user'`: the authenticated user (HMAC of the id); `'global'`:
 * every caller; `'auto'`: `'user'` when the request has a user, else one shared partition
 * for anonymous callers that is apart from every user's; a function returns a partition
 * name of its own (it is HMAC-ed too).
 */
export type CacheScope = 'auto' | 'user' | 'global' | ((req: Request) => string);

/** Options of `CachingModule.forRoot()`. */
export interface CachingModuleOptions {
  /**
   * Turns the cache off (every request BYPASS, streams still served as SSE).
   * @default true
   */
  enabled?: boolean;
  /**
   * Lifetime of an entry, in milliseconds.
   * @default 3_600_000 (1 hour)
   */
  ttlMs?: number;
  /**
   * Prefix of every Redis key of the cache.
   * @default 'llm:cache'
   */
  keyPrefix?: string;
  /**
   * Default scope of `@CacheLLM` routes and `LlmCacheService` calls made with a request.
   * @default 'auto'
   */
  scope?: CacheScope;
  /**
   * Key of the HMAC that turns user ids into partitions (at least 32 characters). Required
   * with Redis (instances sharing Redis must agree on it); without Redis a random key per
   * process is generated when absent.
   */
  partitionSecret?: string;
  /** The in-process cache (the only store without Redis, the L1 in front of Redis with it). */
  l1?: {
    /**
     * Most entries kept in memory (least recently used go first).
     * @default 1000
     */
    maxEntries?: number;
    /**
     * Largest entry kept in memory, in bytes (larger ones live in Redis only).
     * @default 1_048_576
     */
    maxEntryBytes?: number;
    /**
     * With Redis: how long an entry stays in L1, in milliseconds. Bounds how long an
     * `invalidate()` on another instance can go unnoticed here. 0 turns L1 off.
     * @default 10_000
     */
    ttlMs?: number;
  };
  /** Price overrides or additions, USD per 1M tokens, by model name. */
  pricing?: Record<string, ModelPrice>;
  /**
   * Price of a model the table does not know, USD per 1M tokens (savings are flagged estimated).
   * @default { input: 1, output: 4 }
   */
  unknownModelPrice?: ModelPrice;
  /**
   * The app's `@nestjs/cache-manager` Cache (inject `CACHE_MANAGER` in `forRootAsync`) as the
   * L2 instead of Redis: any Keyv store. Single-flight is then per process only.
   * @default the shared Redis when RedisModule is imported, else memory only
   */
  store?: CacheManagerLike;
  /** Single-flight across instances (Redis only). */
  coalesce?: {
    /**
     * Longest a request waits for another instance's upstream call before calling upstream itself, in ms.
     * @default 30_000
     */
    waitTimeoutMs?: number;
    /**
     * Lifetime of the Redis lock of an upstream call, in ms (a crashed leader frees it then):
     * how long waiters wait on one leader. A leader slower than this loses the lock but its
     * clean answer is still stored.
     * @default 60_000
     */
    lockTtlMs?: number;
    /**
     * How often a waiter looks for the leader's result, in ms.
     * @default 25
     */
    pollIntervalMs?: number;
  };
  /**
   * Make the module global so `@CacheLLM` works in every module.
   * @default true
   */
  isGlobal?: boolean;
}

/** Options of one `@CacheLLM()` route; they override the module's. */
export interface CacheLlmOptions {
  /** Lifetime of this route's entries, in milliseconds. */
  ttlMs?: number;
  /** Scope of this route's entries. */
  scope?: CacheScope;
  /** Only these body fields make up the key (default: every field but the deny-list). */
  key?: readonly string[];
  /** Body fields left out of the key. @default DEFAULT_KEY_DENY_LIST */
  ignore?: readonly string[];
  /** Where the parameters come from. @default the request body */
  params?: (req: Request) => unknown;
  /** Cache a `finish_reason` of `length`. @default false */
  allowLength?: boolean;
  /** Cache a `finish_reason` of `content_filter`. @default false */
  allowContentFilter?: boolean;
  /** Reject a response from the cache (return false). */
  cacheIf?: (response: unknown) => boolean;
  /** Usage of a response when it is not in an OpenAI, Anthropic or Gemini shape. */
  usage?: (response: unknown) => LlmUsage | undefined;
  /** Does the client want an SSE stream? @default body.stream === true or Accept: text/event-stream */
  wantsStream?: (req: Request) => boolean;
  /** Replay a recorded stream at its recorded pace instead of at once. @default 'instant' */
  replay?: 'instant' | 'recorded';
  /** Tags for `invalidateTag()`. */
  tags?: readonly string[] | ((req: Request) => readonly string[]);
  /**
   * Entries are shared within a namespace only. By default each route is its own
   * (`'POST /translate'` never answers with `'POST /summarize'`'s text, whatever the body);
   * give routes one name to share entries on purpose. `LlmCacheService` calls pass the same
   * `namespace` to read or invalidate them.
   * @default '<METHOD> <route path pattern>'
   */
  namespace?: string;
  /**
   * When the handler fails (throws: provider 5xx, 429, timeout) and an expired entry is at
   * most this old past its TTL, answer it with `X-Cache: STALE`. Entries are then kept this
   * long past their TTL. In milliseconds; 0 turns it off.
   * @default 0
   */
  staleIfErrorMs?: number;
}

/** Options of one `@CacheApi()` route or `ApiCacheClient.get()` call. */
export interface CacheApiOptions {
  /** How long a response is fresh, in milliseconds; after that it is revalidated (0: every time). @default 60_000 */
  ttlMs?: number;
  /** How long a stale entry is kept for revalidation, in milliseconds. @default 86_400_000 */
  staleTtlMs?: number;
  /** Request headers that are part of the key. @default ['accept', 'accept-language'] */
  vary?: readonly string[];
  /** Scope of the entries. @default 'global' (API answers that do not depend on the caller) */
  scope?: CacheScope;
  /**
   * When the upstream fails (unreachable, timeout, 5xx) and a stale entry is at most this
   * old past its TTL, answer it with `X-Cache: STALE` instead of a 502. In ms; 0 turns it off.
   * @default 0
   */
  staleIfErrorMs?: number;
}

/** The module's options with every default filled in (internal). */
export interface ResolvedCachingOptions {
  enabled: boolean;
  store?: CacheManagerLike;
  ttlMs: number;
  keyPrefix: string;
  scope: CacheScope;
  partitionSecret: string;
  l1: { maxEntries: number; maxEntryBytes: number; ttlMs: number };
  pricing: Record<string, ModelPrice>;
  unknownModelPrice?: ModelPrice;
  coalesce: { waitTimeoutMs: number; lockTtlMs: number; pollIntervalMs: number };
}
