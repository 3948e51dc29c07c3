import type { CachingModuleOptions, SessionModuleOptions, ThrottlingModuleOptions } from '../src';

/** The HTTP platforms the sample runs on (`PLATFORM`). */
export const SAMPLE_PLATFORMS = ['express', 'fastify'] as const;
export type SamplePlatform = (typeof SAMPLE_PLATFORMS)[number];

/** How the sample app is put together; read from the environment by `main.ts`. */
export interface SampleOptions {
  /** Use Redis at this URL; with none, every module runs on its embedded memory store. */
  redisUrl?: string;
  /**
   * Use this Redis Cluster instead (its nodes' URLs); wins over `redisUrl`. From
   * `REDIS_CLUSTER_NODES` (comma-separated URLs).
   */
  redisCluster?: { rootNodes: { url: string }[] };
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
  /**
   * Reverse proxies in front of the app (`TRUST_PROXY`): the rate limits' trusted hops, and
   * with 1 or more the session cookie's Secure decision follows `X-Forwarded-Proto`.
   */
  trustProxy?: number;
  /** Overrides of the sample's rate limits (merged over `sampleThrottlingOptions()`), e.g. a key prefix per test. */
  throttling?: ThrottlingModuleOptions;
}

export function sampleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleOptions {
  const clusterNodes = env.REDIS_CLUSTER_NODES?.split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  return {
    redisUrl: env.REDIS_URL || undefined,
    redisCluster: clusterNodes?.length
      ? { rootNodes: clusterNodes.map((url) => ({ url })) }
      : undefined,
    sessionSecret: env.SESSION_SECRET || undefined,
    statsToken: env.STATS_TOKEN || undefined,
    cachePartitionSecret: env.CACHE_PARTITION_SECRET || undefined,
    trustProxy: env.TRUST_PROXY ? Number(env.TRUST_PROXY) : undefined,
  };
}

/**
 * The platform `PLATFORM` names (`express`, the default, or `fastify`); any other value stops
 * the sample before it starts.
 */
export function samplePlatformFromEnv(env: NodeJS.ProcessEnv = process.env): SamplePlatform {
  const value = env.PLATFORM;
  if (!value) return 'express';
  const platform = SAMPLE_PLATFORMS.find((known) => known === value.trim().toLowerCase());
  if (!platform)
    throw new Error(
      `PLATFORM=${JSON.stringify(value)} is not a platform the sample runs on: ` +
        `set PLATFORM=express (the default) or PLATFORM=fastify`,
    );
  return platform;
}
