import type { LlmCacheCallOptions } from './llm-cache-call.options';
import type { CacheOutcome } from './llm-cache.stats';

/**
 * A charge made for one upstream call (throttling's call budget lease): `settle` exactly
 * once with the response (undefined refunds it). Typed here so the cache knows no ledger.
 */
export interface UpstreamLease {
  settle(response: unknown): Promise<void>;
}

/** What a cached call adds to `LlmCacheService`'s call options. */
export interface CachedCallOptions extends LlmCacheCallOptions {
  /** Call-site name for the stats (`bySite`). */
  site?: string;
  /** Runs right before this caller calls upstream (a miss it leads, or a bypass); may throw to refuse. @internal */
  beforeUpstream?: () => Promise<UpstreamLease | undefined>;
  /** Skip the cache (budgets and stats still apply). */
  skipCache?: boolean;
  /** Called with the outcome of every call (for the wrappers' tests and logs). @internal */
  onOutcome?: (outcome: CacheOutcome | 'disabled') => void;
}

/** What a streamed cached call adds. */
export interface CachedStreamOptions<C> extends CachedCallOptions {
  /** The response the chunks add up to (usage, finish reason, text). @default OpenAI chat chunks joined */
  assemble?: (chunks: readonly C[]) => unknown;
  /** A chunk parsed back from its JSON (e.g. Date fields revived). @default as parsed */
  revive?: (chunk: unknown) => C;
  /** A hit replays at once or at the recorded pace. @default 'instant' */
  replay?: 'instant' | 'recorded';
}
