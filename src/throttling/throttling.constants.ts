import type { RateLimitPolicy } from './throttling-options.interface';

/**
 * The preset request limits, overridable through the `policies` option.
 *
 * @example
 * ThrottlingModule.forRoot({ policies: { llm: { ...THROTTLING_PRESETS.llm, limit: 50 } } })
 */
export const THROTTLING_PRESETS: Readonly<
  Record<'standard' | 'expensive' | 'llm', RateLimitPolicy>
> = {
  standard: { limit: 100, ttlMs: 60_000 },
  expensive: { limit: 10, ttlMs: 60_000 },
  llm: { limit: 20, ttlMs: 60_000 },
};
