import type { Request } from 'express';
import type { LlmUsage } from '../llm/llm-usage';
import type { CacheScope } from './caching-options.interface';

/** Options of one `LlmCacheService` call. */
export interface LlmCacheCallOptions {
  /** Entry lifetime in milliseconds. @default the module's `ttlMs` */
  ttlMs?: number;
  /** @default 'global' without `req`/`userId`, else the module's scope */
  scope?: CacheScope;
  /** The request, for the `'user'`/`'auto'` scopes and scope functions. */
  req?: Request;
  /** The user the entry belongs to, instead of reading it from `req`. */
  userId?: string;
  /** Tags for `invalidateTag()`. */
  tags?: readonly string[];
  /** Upstream latency to record, in ms (`wrap` measures it itself). */
  latencyMs?: number;
  /** Fields that make up the key (default: all but the deny-list). */
  key?: readonly string[];
  /** Fields left out of the key. */
  ignore?: readonly string[];
  /**
   * Entries are shared only within one namespace. `@CacheLLM` routes use their route
   * (`'POST /llm/generate'`) unless they name one: pass it here to read or invalidate a
   * route's entries. @default '' (the service's own namespace)
   */
  namespace?: string;
  allowLength?: boolean;
  allowContentFilter?: boolean;
  cacheIf?: (response: unknown) => boolean;
  usage?: (response: unknown) => LlmUsage | undefined;
}
