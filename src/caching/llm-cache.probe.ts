import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import { onResponseClose, rawResponse } from '../common/http-exchange';
import type { LlmCacheProbe } from '../common/cache-probe';
import { withDeadline } from '../redis/deadline';
import type { CacheEntry } from './cache-entry';
import { parseCacheControl, type RequestCacheControl } from './cache-control';
import { CACHE_LLM_METADATA, CACHE_LOOKUP } from './caching.constants';
import type { CacheLlmOptions } from './caching-options.interface';
import { routeName } from '../common/route-name';
import { cacheRoute } from './cache-route';
import { type CacheLookup, LlmCacheService, sortEntry } from './llm-cache.service';

/** A request's lookup, done once (by the probe or the interceptor) and kept on the request. */
export interface RequestLookup {
  control: RequestCacheControl;
  /** Undefined when the request is not cached (disabled, no-store, no user for a 'user' scope, bad parameters). */
  hash?: string;
  /** The entry to answer with, if any (already checked against `max-age`). */
  entry?: CacheEntry;
  /** An expired entry kept for `staleIfErrorMs`, served only when the handler fails. */
  stale?: CacheEntry;
  /** Why the cache is skipped, for BYPASS: a store error, no-store, no-cache, an unusable key. */
  bypass?: 'disabled' | 'no-store' | 'no-cache' | 'no-partition' | 'bad-key' | 'store-error';
}

/** Where a request keeps its candidacy to lead its flight until the guard's verdict. */
const CANDIDACY = Symbol('nestjs-llm-kit:lead-candidacy');
type WithCandidacy = Request & { [CANDIDACY]?: { hash: string; decide: () => void } };

type WithLookup = Request & {
  [CACHE_LOOKUP]?: {
    partition: string | undefined | Error;
    result: RequestLookup | Promise<RequestLookup>;
  };
};

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
  /** Hashes whose leader was admitted and has not finished (bounded by requests in flight). */
  private readonly leaders = new Set<string>();
  /** Hashes whose would-be leader awaits the guard's verdict (bounded by requests in flight). */
  private readonly candidates = new Map<string, { verdict: Promise<void> }>();

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
      if (!options || context.getType() !== 'http' || cacheRoute(context).respondsItself)
        return false;
      const req = context.switchToHttp().getRequest<Request>();
      const lookup = await this.lookup(req, options, false, routeName(context, req));
      return lookup.entry !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * True when an identical call (same hash) of an admitted request is in flight in this
   * process, or (with Redis) another instance holds its lock. Otherwise this request becomes
   * the candidate to lead it: identical requests arriving before the guard's verdict
   * (`admitted`) wait for it, then coalesce on an admitted leader or, after a refusal, run
   * their own admission (one of them the next candidate). Waits are bounded by
   * `coalesce.waitTimeoutMs`; past it a request runs its own admission.
   */
  async willCoalesce(context: ExecutionContext): Promise<boolean> {
    try {
      const options = this.routeOptions(context);
      if (!options || context.getType() !== 'http') return false;
      const http = context.switchToHttp();
      const req = http.getRequest<WithCandidacy>();
      const found = await this.lookup(req, options);
      if (found.bypass || !found.hash || found.entry) return false;
      const hash = found.hash;
      const waitMs = this.cache.options.coalesce.waitTimeoutMs;
      const deadline = Date.now() + waitMs;
      for (;;) {
        // The leader may have finished since the lookup: its entry is then in L1.
        if (this.inFlightHere(hash)) return true;
        // Another instance's identical call holds the Redis lock: this request will wait on it.
        if (this.cache.store.l2 && (await this.cache.store.lockHeld(hash))) return true;
        if (this.inFlightHere(hash)) return true;
        const pending = this.candidates.get(hash);
        if (!pending) {
          this.claim(req, rawResponse(http.getResponse()), hash);
          return false;
        }
        if (Date.now() >= deadline) return false;
        await withDeadline(pending.verdict, waitMs, 'a leader candidate').catch(() => undefined);
      }
    } catch {
      return false;
    }
  }

  /** The guard's verdict on this request's candidacy: admitted, it leads; refused, it does not. */
  admitted(context: ExecutionContext, admitted: boolean): void {
    if (context.getType() !== 'http') return;
    const http = context.switchToHttp();
    const req = http.getRequest<WithCandidacy>();
    const candidacy = req[CANDIDACY];
    if (!candidacy) return;
    req[CANDIDACY] = undefined;
    if (admitted) {
      this.leaders.add(candidacy.hash);
      onResponseClose(rawResponse(http.getResponse()), () => this.leaders.delete(candidacy.hash));
    }
    candidacy.decide();
  }

  /** Makes the request the candidate of `hash` until its verdict or, at the latest, its end. */
  private claim(req: WithCandidacy, res: ServerResponse, hash: string): void {
    let decided!: () => void;
    const verdict = new Promise<void>((resolve) => (decided = resolve));
    const candidate = { verdict };
    const decide = () => {
      if (this.candidates.get(hash) === candidate) this.candidates.delete(hash);
      decided();
    };
    this.candidates.set(hash, candidate);
    req[CANDIDACY] = { hash, decide };
    onResponseClose(res, decide);
  }

  /** An identical call led in this process (in flight, its leader admitted, or just stored in L1). */
  private inFlightHere(hash: string): boolean {
    return (
      this.cache.flight.has(hash) ||
      this.leaders.has(hash) ||
      this.cache.store.peek(hash, Date.now()) !== undefined
    );
  }

  /**
   * The request's lookup: the stashed one, or a new one (then stashed). Synchronous when L1
   * answers (or there is no L2), a promise when Redis has to be asked. With `verify` (the
   * interceptor), a stashed lookup is reused only if the request's partition is still the
   * one it was made for: a guard that sets `req.user` after the probe ran must not leave a
   * user's answer in the anonymous partition. `route` is the key namespace unless the
   * route's options name one.
   */
  lookup(
    req: Request,
    options: CacheLlmOptions,
    verify = false,
    route = '',
  ): RequestLookup | Promise<RequestLookup> {
    const stash = req as WithLookup;
    const found = stash[CACHE_LOOKUP];
    if (found && !verify) return found.result;
    const partition = this.partition(req, options);
    if (found && found.partition === partition) return found.result;
    const result = this.run(req, { namespace: route, ...options }, partition);
    stash[CACHE_LOOKUP] = { partition, result };
    return result;
  }

  private partition(req: Request, options: CacheLlmOptions): string | undefined | Error {
    try {
      return this.cache.partitionOf({ req, scope: options.scope ?? this.cache.options.scope });
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private run(
    req: Request,
    options: CacheLlmOptions,
    partition: string | undefined | Error,
  ): RequestLookup | Promise<RequestLookup> {
    const control = parseCacheControl(req.headers['cache-control']);
    if (!this.cache.options.enabled) return { control, bypass: 'disabled' };
    if (control.noStore) return { control, bypass: 'no-store' };
    if (partition instanceof Error) return { control, bypass: 'bad-key' };
    if (partition === undefined) return { control, bypass: 'no-partition' };
    let hash: string;
    try {
      hash = this.cache.hashOf(options.params ? options.params(req) : req.body, partition, options);
    } catch {
      return { control, bypass: 'bad-key' };
    }
    if (control.noCache || control.maxAgeS === 0) return { control, hash, bypass: 'no-cache' };
    const local = this.cache.store.peek(hash, Date.now());
    if (local || !this.cache.store.l2) return fresh(control, sortEntry(hash, local));
    return this.cache
      .lookup(hash)
      .then((found) =>
        found.error !== undefined
          ? { control, bypass: 'store-error' as const }
          : fresh(control, found),
      );
  }
}

/** The lookup, with an entry older than the request's `max-age` counted as a miss. */
function fresh(
  control: RequestCacheControl,
  found: Pick<CacheLookup, 'hash' | 'entry' | 'stale'>,
): RequestLookup {
  const { hash, entry, stale } = found;
  if (
    entry &&
    control.maxAgeS !== undefined &&
    Date.now() - entry.createdAt > control.maxAgeS * 1000
  )
    return { control, hash, stale: entry };
  return { control, hash, entry, stale };
}
