// The JSON each module's stats source returns: the contract between the modules and
// StatsModule (GET /stats, Prometheus metrics, dashboard). Every number is cluster-wide
// when Redis is in use.

/** Counters of one slice (a model or a route) of the LLM cache. */
export interface CacheSliceStats {
  hits: number;
  misses: number;
  coalesced: number;
  bypassed: number;
  savingsUsd: number;
  tokensSaved: number;
  latencySavedMs: number;
}

/** `GET /stats/cache`: the seed's shape plus what we add. */
export interface CacheStatsSnapshot {
  hits: number;
  misses: number;
  /** Requests answered by another request's in-flight upstream call. */
  coalesced: number;
  /** Requests that skipped the cache (no-store, no-cache, cache errors). */
  bypassed: number;
  /** hits / (hits + misses + coalesced) in percent, two decimals; 0 with no traffic. */
  hitRate: number;
  estimatedSavingsUsd: number;
  /** The seed's form: "$1.50". */
  estimatedSavings: string;
  tokensSaved: number;
  latencySavedMs: number;
  /** True when some of the savings were computed from estimated usage or an unknown model's default price. */
  estimated: boolean;
  byModel: Record<string, CacheSliceStats>;
  /** Keyed by route, e.g. "POST /llm/generate". */
  byRoute: Record<string, CacheSliceStats>;
  /** Keyed by call-site name of wrapped LLM calls (`wrapOpenAI(..., { name })`), at most 100 names. */
  bySite?: Record<string, CacheSliceStats>;
}

/** `GET /stats/throttling`. */
export interface ThrottlingStatsSnapshot {
  /** Keyed by policy (throttler) name, e.g. "llm", "global", "llm:tokens". */
  byPolicy: Record<string, { allowed: number; rejected: number }>;
  /** Trackers with the most rejections, most first, at most 10; trackers are hashed, never raw IPs or ids. */
  topRejected: { tracker: string; rejections: number }[];
  /** LLM budgets, keyed by policy name. `consumed` is tokens for a tokens budget, USD for a usd budget. */
  budgets: Record<string, { kind: 'tokens' | 'usd'; consumed: number; rejected: number }>;
}

/** `GET /stats/sessions`. */
export interface SessionStatsSnapshot {
  active: number;
  created: number;
  destroyed: number;
  revoked: number;
}
