import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { LlmCacheProbe } from '../common/cache-probe';
import type { CacheEntry } from './cache-entry';
import { parseCacheControl, type RequestCacheControl } from './cache-control';
import { CACHE_LLM_METADATA, CACHE_LOOKUP } from './caching.constants';
import type { CacheLlmOptions } from './caching-options.interface';
import { LlmCacheService } from './llm-cache.service';

/** A request's lookup, done once (by the probe or the interceptor) and kept on the request. */
export interface RequestLookup {
  control: RequestCacheControl;
  /** Undefined when the request is not cached (disabled, no-store, no user for a 'user' scope, bad parameters). */
  hash?: string;
  /** The entry to answer with, if any (already checked against `max-age`). */
  entry?: CacheEntry;
  /** Why the cache is skipped, for BYPASS: a store error, no-store, no-cache, an unusable key. */
  bypass?: 'disabled' | 'no-store' | 'no-cache' | 'no-partition' | 'bad-key' | 'store-error';
}

type WithLookup = Request & { [CACHE_LOOKUP]?: RequestLookup | Promise<RequestLookup> };

/**
 * The `LLM_CACHE_PROBE` of the throttling guard, and the one place a request's cache lookup
 * happens: the first caller (guard or interceptor) starts it, the other reuses it.
 *
 * @example
 * constructor(@Optional() @Inject(LLM_CACHE_PROBE) private readonly probe?: LlmCacheProbe) {}
 * if (await this.probe?.willHit(context)) return true; // a hit costs no LLM budget
 */
@Injectable()
export class LlmCacheProbeService implements LlmCacheProbe {
  constructor(
    private readonly reflector: Reflector,
    private readonly cache: LlmCacheService,
  ) {}

  /** The route's `@CacheLLM` options, or undefined for a route without it. */
  routeOptions(context: ExecutionContext): CacheLlmOptions | undefined {
    return this.reflector.getAllAndOverride<CacheLlmOptions | undefined>(CACHE_LLM_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
  }

  async willHit(context: ExecutionContext): Promise<boolean> {
    try {
      const options = this.routeOptions(context);
      if (!options || context.getType() !== 'http') return false;
      const lookup = await this.lookup(context.switchToHttp().getRequest<Request>(), options);
      return lookup.entry !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * The request's lookup: the stashed one, or a new one (then stashed). Synchronous when L1
   * answers (or there is no L2), a promise when Redis has to be asked.
   */
  lookup(req: Request, options: CacheLlmOptions): RequestLookup | Promise<RequestLookup> {
    const stash = req as WithLookup;
    return (stash[CACHE_LOOKUP] ??= this.run(req, options));
  }

  private run(req: Request, options: CacheLlmOptions): RequestLookup | Promise<RequestLookup> {
    const control = parseCacheControl(req.headers['cache-control']);
    if (!this.cache.options.enabled) return { control, bypass: 'disabled' };
    if (control.noStore) return { control, bypass: 'no-store' };
    let hash: string | undefined;
    try {
      hash = this.cache.keyOf(options.params ? options.params(req) : req.body, {
        req,
        scope: options.scope ?? this.cache.options.scope,
        key: options.key,
        ignore: options.ignore,
      });
    } catch {
      return { control, bypass: 'bad-key' };
    }
    if (hash === undefined) return { control, bypass: 'no-partition' };
    if (control.noCache || control.maxAgeS === 0) return { control, hash, bypass: 'no-cache' };
    const local = this.cache.store.peek(hash, Date.now());
    if (local || !this.cache.store.l2) return fresh(control, hash, local);
    const key = hash;
    return this.cache
      .lookup(key)
      .then((found) =>
        found.error !== undefined
          ? { control, bypass: 'store-error' as const }
          : fresh(control, key, found.entry),
      );
  }
}

/** The lookup, with an entry older than the request's `max-age` counted as a miss. */
function fresh(
  control: RequestCacheControl,
  hash: string,
  entry: CacheEntry | undefined,
): RequestLookup {
  if (
    entry &&
    control.maxAgeS !== undefined &&
    Date.now() - entry.createdAt > control.maxAgeS * 1000
  )
    return { control, hash };
  return { control, hash, entry };
}
