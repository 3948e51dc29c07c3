import type { CachingModuleOptions, SessionModuleOptions, ThrottlingModuleOptions } from '../src';

/** How the sample app is put together; read from the environment by `main.ts`. */
export interface SampleOptions {
  /** Use Redis at this URL; with none, every module runs on its embedded memory store. */
  redisUrl?: string;
  /** Bearer token of the stats routes; with none they are public and reset is refused. */
  statsToken?: string;
  /** Signs the session cookie (`SESSION_SECRET`); in development a random one is generated. */
  sessionSecret?: string;
  /** Overrides of the sample's session settings (the e2e specs use short TTLs). */
  session?: Partial<SessionModuleOptions>;
  /** HMAC key of the LLM cache's per-user partitions (CACHE_PARTITION_SECRET). */
  cachePartitionSecret?: string;
  /** Extra CachingModule options (tests). */
  caching?: CachingModuleOptions;
  /** Overrides of the sample's rate limits (merged over `sampleThrottlingOptions()`), e.g. a key prefix per test. */
  throttling?: ThrottlingModuleOptions;
}

export function sampleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleOptions {
  return {
    redisUrl: env.REDIS_URL || undefined,
    sessionSecret: env.SESSION_SECRET || undefined,
    statsToken: env.STATS_TOKEN || undefined,
    cachePartitionSecret: env.CACHE_PARTITION_SECRET || undefined,
  };
}
