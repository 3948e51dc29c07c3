export const RATE_LIMIT_METADATA = 'nestjs-llm-kit:rate-limit';
export const LLM_THROTTLE_METADATA = 'nestjs-llm-kit:llm-throttle';
export const SKIP_RATE_LIMIT_METADATA = 'nestjs-llm-kit:skip-rate-limit';
/** Resolved (validated, defaults merged) module options. */
export const RESOLVED_THROTTLING_OPTIONS = Symbol('nestjs-llm-kit:RESOLVED_THROTTLING_OPTIONS');
/** Where the guard leaves a request's budget reservations for the settling interceptor. */
export const BUDGET_LEASES = Symbol('nestjs-llm-kit:budget-leases');
/** Where the guard leaves the charge of a request it admitted as COALESCED (free). */
export const LATE_CHARGE = Symbol('nestjs-llm-kit:late-charge');
/** Where the guard leaves the refund of a charged request that the cache answered after all. */
export const CACHE_REFUND = Symbol('nestjs-llm-kit:cache-refund');
export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;
/** Dollar budgets are counted in micro-dollars, so the stores only see integers. */
export const MICRO_USD = 1_000_000;
