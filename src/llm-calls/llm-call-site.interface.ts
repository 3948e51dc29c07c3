import type { CacheScope } from '../caching/caching-options.interface';
import type { LlmUsage } from '../llm/llm-usage';
import type { CallBudgetOptions } from '../throttling/call-budget';

/**
 * How one call site's LLM calls are cached, limited and counted.
 *
 * @example
 * const site: LlmCallSiteOptions = { name: 'agent.plan', ttlMs: 600_000, tags: ['agent'] };
 */
export interface LlmCallSiteOptions {
  /** Call-site name, shown in `GET /stats/cache` under `bySite` (1-64 characters). */
  name: string;
  /** Entry lifetime in ms. @default the CachingModule's `ttlMs` */
  ttlMs?: number;
  /**
   * Whose entries: inside a request the CachingModule's `scope` applies to the request's
   * user; `'global'` shares entries between every caller (and lets a call outside any
   * request run without `runAs()`).
   * @default the CachingModule's `scope` inside a request / `runAs()`
   */
  scope?: CacheScope;
  /** The user a call belongs to, for calls outside a request (instead of `runAs`). */
  userId?: string;
  /** Tags for `LlmCacheService.invalidateTag()`. */
  tags?: readonly string[];
  /** Budgets of this site's calls; false for none. @default the ThrottlingModule's `llm` budgets, policy 'llm' */
  budget?: CallBudgetOptions | false;
  /** Turn the cache off for this site (budgets and stats still apply). @default true */
  cache?: boolean;
  /** A streamed hit replays at once or at the recorded pace. @default 'instant' */
  replay?: 'instant' | 'recorded';
  /** Store answers cut by the token limit. @default false */
  allowLength?: boolean;
  /** Store answers stopped by a content filter. @default false */
  allowContentFilter?: boolean;
  /** Store a response only when this returns true. */
  cacheIf?: (response: unknown) => boolean;
  /** Usage of a response the kit cannot read itself. */
  usage?: (response: unknown) => LlmUsage | undefined;
  /** Parameters left out of the key (besides the deny-list: `user`, `metadata`, `stream`...). */
  ignore?: readonly string[];
}
