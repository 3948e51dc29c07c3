import type { ThrottlingModuleOptions } from '../src';

/**
 * The sample's rate limits: the seed's global 200 requests/min per client, the presets for
 * routes (`llm` 20/min on /llm/generate, `expensive` 10/min on /llm/summarize), and LLM
 * budgets per client. `TRUST_PROXY` is the number of proxies in front of the app.
 */
export function sampleThrottlingOptions(
  env: NodeJS.ProcessEnv = process.env,
): ThrottlingModuleOptions {
  return {
    global: { limit: 200, ttlMs: 60_000 },
    llm: { tokensPerMinute: 40_000, usdPerDay: 5 },
    trustProxy: Number(env.TRUST_PROXY ?? 0),
  };
}
