import type { ExecutionContext } from '@nestjs/common';

/**
 * How the throttling guard asks the LLM cache, before the handler runs, whether this
 * request will be answered from the cache (cache hits consume no LLM limits or budgets).
 * CachingModule provides it; without CachingModule nothing is a hit.
 *
 * Contract: `willHit` does the cache lookup the caching interceptor would do and leaves its
 * result on the request, so the interceptor does not read the cache a second time.
 * It never throws (a cache error answers false).
 */
export interface LlmCacheProbe {
  willHit(context: ExecutionContext): Promise<boolean>;
  /**
   * After `willHit` answered false: whether an identical call is already on its way upstream
   * (in this process, or on another instance holding its Redis lock), so this request will be answered COALESCED. The first request of a
   * burst is the leader (false) and the rest of the burst see it (true). Never throws.
   */
  willCoalesce?(context: ExecutionContext): Promise<boolean>;
}

/** Injection token of the `LlmCacheProbe` (internal: shared by CachingModule and ThrottlingModule). */
export const LLM_CACHE_PROBE = Symbol('nestjs-llm-kit:LLM_CACHE_PROBE');
