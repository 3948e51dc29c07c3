/** How the sample app is put together; read from the environment by `main.ts`. */
export interface SampleOptions {
  /** Use Redis at this URL; with none, every module runs on its embedded memory store. */
  redisUrl?: string;
  /** HMAC key of the LLM cache's per-user partitions (CACHE_PARTITION_SECRET). */
  cachePartitionSecret?: string;
  /** Extra CachingModule options (tests). */
  caching?: import('../src').CachingModuleOptions;
}

export function sampleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleOptions {
  return {
    redisUrl: env.REDIS_URL || undefined,
    cachePartitionSecret: env.CACHE_PARTITION_SECRET || undefined,
  };
}
