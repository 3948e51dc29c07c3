import type { ExecutionContext } from '@nestjs/common';

/**
 * How the throttling guard asks the LLM cache, before the handler runs, whether this
 * request will be answered from the cache (cache hits consume no LLM limits or budgets).
 * CachingModule provides it; without CachingModule nothing is a hit.
 *
 * Contract: `willHit` does the cache lookup the caching interceptor would do and leaves its
 * result on the request, so the interceptor does not read the cache a second time.
 * No method throws (a cache error answers false).
 */
export interface LlmCacheProbe {
  willHit(context: ExecutionContext): Promise<boolean>;
  /**
   * After `willHit` answered false: whether an identical call of an admitted request is already
   * on its way upstream (in this process, or on another instance holding its Redis lock), so
   * this request will be answered COALESCED. When it answers false the request is the
   * candidate to lead that call: identical requests arriving meanwhile wait (bounded) for
   * its verdict, which the guard gives with `admitted` as soon as its charge is decided. A
   * refused candidate leads nothing: the next identical request runs its own admission.
   */
  willCoalesce?(context: ExecutionContext): Promise<boolean>;
  /**
   * The guard's verdict on a request `willCoalesce` answered false for: admitted (identical
   * requests coalesce on it, for free) or refused. Idempotent: the first verdict counts.
   */
  admitted?(context: ExecutionContext, admitted: boolean): void;
}

/** Injection token of the `LlmCacheProbe` (internal: shared by CachingModule and ThrottlingModule). */
export const LLM_CACHE_PROBE = Symbol('nestjs-llm-kit:LLM_CACHE_PROBE');
