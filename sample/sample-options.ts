/** How the sample app is put together; read from the environment by `main.ts`. */
export interface SampleOptions {
  /** Use Redis at this URL; with none, every module runs on its embedded memory store. */
  redisUrl?: string;
  /** Bearer token of the stats routes; with none they are public and reset is refused. */
  statsToken?: string;
}

export function sampleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleOptions {
  return { redisUrl: env.REDIS_URL || undefined, statsToken: env.STATS_TOKEN || undefined };
}
