import type { ThrottlingModuleOptions } from '../src';

/** How the sample app is put together; read from the environment by `main.ts`. */
export interface SampleOptions {
  /** Use Redis at this URL; with none, every module runs on its embedded memory store. */
  redisUrl?: string;
  /** Overrides of the sample's rate limits (merged over `sampleThrottlingOptions()`), e.g. a key prefix per test. */
  throttling?: ThrottlingModuleOptions;
}

export function sampleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleOptions {
  return { redisUrl: env.REDIS_URL || undefined };
}
