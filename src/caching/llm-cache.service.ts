import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import type { CacheStatsSnapshot } from '../common/stats-shapes';
import { PriceTable } from '../llm/llm-pricing';
import type { CacheEntry } from './cache-entry';
import {
  buildEntry,
  type CacheabilityOptions,
  type EntryOptions,
  isCacheable,
} from './cache-entry.builder';
import { type CacheLookup, sortEntry } from './cache-lookup';
import { cacheKeyHash, DEFAULT_KEY_DENY_LIST } from './cache-key';
import { cachePartition } from './cache-partition';
import { cachedStream, cachedValue } from './cached-call';
import type { CachedCallOptions, CachedStreamOptions } from './cached-call.options';
import type { CallStream } from './call-stream';
import { LLM_CACHE_STORE, RESOLVED_CACHING_OPTIONS } from './caching.constants';
import type { ResolvedCachingOptions } from './caching-options.interface';
import type { LlmCacheCallOptions } from './llm-cache-call.options';
import { type CacheOutcome, LlmCacheStats } from './llm-cache.stats';
import { SingleFlight, type FlightLease } from './single-flight';
import type { TieredCacheStore } from './tiered-cache.store';

export { type CacheLookup, sortEntry } from './cache-lookup';
export type { LlmCacheCallOptions } from './llm-cache-call.options';

/**
 * The LLM response cache, for code that calls an LLM itself (the `@CacheLLM` interceptor
 * uses it too). `wrap` is the recommended form: concurrent identical calls make one
 * upstream call.
 *
 * @example
 * const answer = await llmCache.wrap({ model, messages, temperature }, () => openai.chat.completions.create(...));
 * await llmCache.get({ provider, model, prompt, temperature }); // null on a miss
 */
@Injectable()
export class LlmCacheService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('LlmCache');
  private readonly warnOnce = new LogThrottle(this.logger);
  /** @internal */
  readonly pricing: PriceTable;
  /** @internal */
  readonly flight: SingleFlight;

  constructor(
    /** @internal */ @Inject(RESOLVED_CACHING_OPTIONS) readonly options: ResolvedCachingOptions,
    /** @internal */ @Inject(LLM_CACHE_STORE) readonly store: TieredCacheStore,
    private readonly counters: LlmCacheStats,
  ) {
    this.pricing = new PriceTable(options.pricing, options.unknownModelPrice);
    this.flight = new SingleFlight(store, options.coalesce);
  }

  private stopWatching?: () => Promise<void>;

  /** Waiters for another instance's upstream call wake when it releases its lock. */
  async onModuleInit(): Promise<void> {
    try {
      this.stopWatching = await this.store.l2?.watchUnlocks?.((hash) => this.flight.unlocked(hash));
    } catch (error) {
      this.logger.warn(
        `lock-release notifications unavailable, waiters poll instead: ${String(error)}`,
      );
    }
  }

  /** No request waits on a flight past shutdown. */
  async onModuleDestroy(): Promise<void> {
    this.flight.close();
    await this.stopWatching?.();
  }

  /**
   * The key hash of the parameters (64 hex characters), or undefined when the scope needs a
   * user and there is none. Throws `CacheKeyError` for parameters that cannot be a key.
   */
  keyOf(params: unknown, options: LlmCacheCallOptions = {}): string | undefined {
    const partition = this.partitionOf(options);
    return partition === undefined ? undefined : this.hashOf(params, partition, options);
  }

  /** The scope partition of a call (HMAC of the user or scope value), or undefined for none. */
  partitionOf(options: Pick<LlmCacheCallOptions, 'scope' | 'req' | 'userId'>): string | undefined {
    const scope = options.scope ?? (options.req || options.userId ? this.options.scope : 'global');
    return cachePartition(scope, options.req, this.options.partitionSecret, options.userId);
  }

  /** The key hash of the parameters in a partition. Throws `CacheKeyError`. */
  hashOf(
    params: unknown,
    partition: string,
    options: Pick<LlmCacheCallOptions, 'key' | 'ignore' | 'namespace'> = {},
  ): string {
    return cacheKeyHash(
      params,
      partition,
      { pick: options.key, deny: options.ignore ?? DEFAULT_KEY_DENY_LIST },
      options.namespace,
    );
  }

  /** Looks the key up; never throws (a store error comes back as `error`). @internal */
  lookup(hash: string): Promise<CacheLookup> {
    let read: Promise<CacheEntry | undefined>;
    try {
      read = this.store.get(hash);
    } catch (error) {
      read = Promise.reject(error as Error);
    }
    return read.then(
      (entry): CacheLookup => sortEntry(hash, entry),
      (error: unknown): CacheLookup => {
        this.warn('read', hash, error);
        return { hash, entry: undefined, error };
      },
    );
  }

  /** The cached response for the parameters, or null. */
  async get<T = unknown>(params: unknown, options: LlmCacheCallOptions = {}): Promise<T | null> {
    const hash = this.keyOf(params, options);
    if (!this.options.enabled || hash === undefined) return null;
    const found = await this.lookup(hash);
    if (!found.entry) return null;
    this.counters.record('hits', found.entry.model, undefined, found.entry);
    return JSON.parse(found.entry.body) as T;
  }

  /** Stores a response for the parameters (unless it is not cacheable); never throws on store errors. */
  async set(
    params: unknown,
    response: unknown,
    options: LlmCacheCallOptions = {},
  ): Promise<boolean> {
    const hash = this.keyOf(params, options);
    if (!this.options.enabled || hash === undefined) return false;
    const entry = this.toEntry(params, response, options.latencyMs ?? 0, options);
    if (!entry || !this.cacheable(response, options)) return false;
    try {
      await this.store.set(hash, entry);
      return true;
    } catch (error) {
      this.warn('write', hash, error);
      return false;
    }
  }

  /**
   * The cached response, else `fn()`'s, stored when cacheable. Concurrent identical calls
   * (in this process and, with Redis, across instances) share one `fn()` call. The flow of
   * the wrapped clients' calls: without `req`, `userId` or `scope`, a call inside a request
   * (or `runAs()`) is in that caller's partition, else in the global one.
   */
  wrap<T>(params: unknown, fn: () => Promise<T>, options: CachedCallOptions = {}): Promise<T> {
    return cachedValue(this, params, fn, options);
  }

  /**
   * `wrap` for a call that streams: `fn` returns an AsyncIterable (or an SDK stream) of chunk
   * objects. A miss yields them as they come and records them; only a clean finish that is
   * cacheable is stored. A hit (or a coalesced call) replays the recorded chunks as objects.
   * Partitioned as `wrap`.
   *
   * @example
   * const stream = await llmCache.wrapStream(params, () => openai.chat.completions.create({ ...params, stream: true }));
   * for await (const chunk of stream) write(chunk.choices[0]?.delta.content ?? '');
   */
  wrapStream<C>(
    params: unknown,
    fn: () => Promise<AsyncIterable<C>> | AsyncIterable<C>,
    options: CachedStreamOptions<C> = {},
  ): Promise<CallStream<C>> {
    return cachedStream(this, params, fn, options);
  }

  /** Deletes the entry of the parameters (L1 of other instances forget it within `l1.ttlMs`). */
  async invalidate(params: unknown, options: LlmCacheCallOptions = {}): Promise<void> {
    const hash = this.keyOf(params, options);
    if (hash !== undefined) await this.store.delete(hash);
  }

  /** Deletes every entry stored with the tag; returns how many. */
  invalidateTag(tag: string): Promise<number> {
    return this.store.deleteTag(tag);
  }

  /** The counters, as `GET /stats/cache` shows them. */
  stats(): Promise<CacheStatsSnapshot> {
    return this.counters.snapshot();
  }

  /** Counts a request's outcome (for the interceptors and call sites; `site`: the call-site name). @internal */
  record(
    outcome: CacheOutcome,
    model: string | undefined,
    route?: string,
    entry?: CacheEntry,
    site?: string,
  ) {
    this.counters.record(outcome, model, route, entry, site);
  }

  /** Stores (when `store`) and shares the leader's entry; store errors are logged, not thrown. @internal */
  async settle(lease: FlightLease, hash: string, entry: CacheEntry, store: boolean): Promise<void> {
    await lease.settle(entry, store).catch((error: unknown) => this.warn('write', hash, error));
  }

  /** Whether a response may be stored: not empty, no unwanted finish reason, `cacheIf` agrees. @internal */
  cacheable(response: unknown, options: CacheabilityOptions): boolean {
    return isCacheable(response, options);
  }

  /** Builds the entry and its savings ledger; undefined when the response cannot be serialized. @internal */
  toEntry(
    params: unknown,
    response: unknown,
    latencyMs: number,
    options: EntryOptions,
  ): CacheEntry | undefined {
    return buildEntry(this.pricing, params, response, latencyMs, {
      ...options,
      ttlMs: options.ttlMs ?? this.options.ttlMs,
    });
  }

  /** One log line per interval per topic, with the key hash only. @internal */
  warn(topic: 'read' | 'write', hash: string | undefined, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.warnOnce.warn(
      `cache-${topic}`,
      `LLM cache ${topic} failed for key ${hash ?? '(none)'}; serving without the cache: ${reason.slice(0, 200)}`,
    );
  }
}
