import type { ExecutionContext } from '@nestjs/common';
import type {
  ThrottlerGenerateKeyFunction,
  ThrottlerGetTrackerFunction,
  ThrottlerLimitDetail,
  ThrottlerOptions,
} from '@nestjs/throttler';
import type { Request } from 'express';
import type { ModelPrice } from '../llm/llm-pricing';

/**
 * The built-in trackers: who a limit counts against.
 *
 * @example
 * ThrottlingModule.forRoot({ tracker: 'user' })
 */
export type TrackerKind = 'ip' | 'user' | 'session' | 'apiKey';

/**
 * Who a limit counts against: a built-in tracker or a function of the request (return
 * undefined to fall back to the client IP). The value is hashed before it reaches a key.
 *
 * @example
 * const byTenant: Tracker = (req) => req.header('x-tenant-id');
 */
export type Tracker = TrackerKind | ((req: Request) => string | undefined);

/**
 * What a limit does when Redis cannot answer within `redisTimeoutMs`: `open` lets the request
 * through (one warning per interval), `closed` answers 503, `local` enforces the limit in this
 * instance's memory until Redis answers again.
 */
export type FailurePolicy = 'open' | 'closed' | 'local';

/** Which rate-limit response headers to send. */
export type HeaderStyle = 'both' | 'legacy' | 'ietf' | 'none';

/**
 * A request limit: `limit` requests per `ttlMs` per tracker.
 *
 * @example
 * const search: RateLimitPolicy = { limit: 30, ttlMs: 60_000, by: 'apiKey', onRedisError: 'closed' };
 */
export interface RateLimitPolicy {
  /** Requests allowed per window (the burst a fresh tracker may spend at once). */
  limit: number;
  /** Window length. */
  ttlMs: number;
  /**
   * Who it counts against.
   * @default the module's `tracker`
   */
  by?: Tracker;
  /**
   * What to do when Redis is unreachable.
   * @default the module's `onRedisError`
   */
  onRedisError?: FailurePolicy;
}

/** A request limit given inline to `@RateLimit()`; `name` defaults to the route. */
export interface InlineRateLimit extends RateLimitPolicy {
  /** Policy name, as shown in headers, 429 bodies and stats. Routes sharing a name share counters. */
  name?: string;
}

/**
 * Options of `@LLMThrottle()`; unset fields come from the module's `llm` option.
 *
 * @example
 * @LLMThrottle({ tokensPerMinute: 40_000, usdPerDay: 5, by: 'user' })
 */
export interface LlmThrottleOptions {
  /**
   * Name of the request-limit policy (a preset or one of `policies`). Budgets are named
   * `<policy>:tokens` and `<policy>:usd`.
   * @default 'llm'
   */
  policy?: string;
  /** LLM tokens (prompt + completion) per minute per tracker; unset: no token budget. */
  tokensPerMinute?: number;
  /** USD per day (sliding 24 h) per tracker; unset: no dollar budget. */
  usdPerDay?: number;
  /** Who the limit and budgets count against. @default the policy's tracker */
  by?: Tracker;
  /** Count requests that `@CacheLLM` will answer from the cache. @default false */
  countCacheHits?: boolean;
  /** Completion tokens reserved when the body has no `max_tokens`. @default 1024 */
  defaultMaxTokens?: number;
  /** Model whose price reserves dollars when the body names none. @default 'gpt-4o' */
  defaultModel?: string;
}

/** Detail handed to `onLimitReached` and written to the 429 body. */
export interface LimitReachedDetail {
  /** The policies the request broke, e.g. ['llm:tokens']. */
  policies: string[];
  /** Seconds until the request could be admitted. */
  retryAfterSeconds: number;
  /** Hashed tracker of the first violated policy (never the raw IP or id). */
  tracker: string;
}

/**
 * Options of `ThrottlingModule.forRoot()`.
 *
 * @example
 * const options: ThrottlingModuleOptions = { global: { limit: 200, ttlMs: 60_000 }, trustProxy: 1 };
 */
export interface ThrottlingModuleOptions {
  /**
   * Named request limits, merged over the presets `standard` (100/min), `expensive` (10/min)
   * and `llm` (20/min); a name set to undefined removes that preset.
   * @default {}
   */
  policies?: Record<string, RateLimitPolicy | undefined>;
  /**
   * A limit on every route (except `@SkipRateLimit()`), named `global`; false for none.
   * @default false
   */
  global?: RateLimitPolicy | false;
  /** Defaults of every `@LLMThrottle()`. @default {} */
  llm?: Omit<LlmThrottleOptions, 'policy' | 'by'> & {
    /** How long a budget reservation lives if the request never settles it. @default 120000 (ms) */
    leaseTtlMs?: number;
  };
  /** Default tracker. @default 'ip' */
  tracker?: Tracker;
  /**
   * Reverse proxies in front of the app whose `X-Forwarded-For` entry is trusted. 0 ignores
   * the header. `true` (trust every hop) is refused: any client could pick its address.
   * @default 0
   */
  trustProxy?: number;
  /** IPv6 clients are grouped by this prefix length (128: one address each). @default 56 */
  ipv6Subnet?: number;
  /** Header carrying the API key of the `apiKey` tracker. @default 'x-api-key' */
  apiKeyHeader?: string;
  /** The `detail` of a 429 body. @default 'Too many requests, retry later.' */
  message?: string;
  /** Called (and awaited) before a 429 is sent; errors it throws are logged, not sent. */
  onLimitReached?: (context: ExecutionContext, detail: LimitReachedDetail) => void | Promise<void>;
  /** Response headers: X-RateLimit-* (`legacy`), IETF RateLimit(-Policy) (`ietf`), `both`, `none`. @default 'both' */
  headers?: HeaderStyle;
  /** Default failure policy of every limit. @default 'local' */
  onRedisError?: FailurePolicy;
  /** Longest wait for Redis before the failure policy applies. @default 500 (ms) */
  redisTimeoutMs?: number;
  /** Prefix of every Redis key. @default 'rl:' */
  keyPrefix?: string;
  /** Most trackers x policies the memory store keeps; the least recently used go first. @default 100000 */
  memoryMaxKeys?: number;
  /** Price overrides (USD per 1M tokens) for dollar budgets. @default {} */
  pricing?: Record<string, ModelPrice>;
  /**
   * Price (USD per 1M tokens) of a model neither the shipped table nor `pricing` names, for
   * dollar budgets. Any name counts as a model name, `constructor` or `__proto__` included.
   * @default { input: 1, output: 4 }
   */
  unknownModelPrice?: ModelPrice;
  /** How often stats counters are written to Redis (batched, off the request path). @default 1000 (ms) */
  statsFlushIntervalMs?: number;
  /**
   * `@nestjs/throttler`'s named throttlers (`ttl` and `blockDuration` in ms, as there), read by
   * its `@Throttle()` and `@SkipThrottle()`; evaluated in the same store call as every other
   * limit. A `blockDuration` (default: the `ttl`) keeps a tracker rejected that long.
   * @default []
   */
  throttlers?: ThrottlerOptions[];
  /** `@nestjs/throttler`'s `skipIf`: true skips every throttler of `throttlers` for that request. */
  skipIf?: (context: ExecutionContext) => boolean;
  /** `@nestjs/throttler`'s `ignoreUserAgents`: requests whose User-Agent matches skip `throttlers`. */
  ignoreUserAgents?: RegExp[];
  /**
   * `@nestjs/throttler`'s `getTracker` for `throttlers`.
   * @default the module's `tracker` (the client IP by `trustProxy`)
   */
  getTracker?: ThrottlerGetTrackerFunction;
  /**
   * `@nestjs/throttler`'s `generateKey` for `throttlers`: requests with the same key share a count.
   * @default per route, throttler and tracker, as `@nestjs/throttler`
   */
  generateKey?: ThrottlerGenerateKeyFunction;
  /** `@nestjs/throttler`'s `errorMessage`: the 429 `detail` when a throttler rejected. @default `message` */
  errorMessage?:
    | string
    | ((context: ExecutionContext, detail: ThrottlerLimitDetail) => string | Promise<string>);
  /** `@nestjs/throttler`'s `setHeaders`: false sends no header of `throttlers`. @default true */
  setHeaders?: boolean;
}
