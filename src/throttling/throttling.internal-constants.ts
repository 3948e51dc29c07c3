export const RATE_LIMIT_METADATA = 'nestjs-llm-kit:rate-limit';
export const LLM_THROTTLE_METADATA = 'nestjs-llm-kit:llm-throttle';
export const SKIP_RATE_LIMIT_METADATA = 'nestjs-llm-kit:skip-rate-limit';
/** Resolved (validated, defaults merged) module options. */
export const RESOLVED_THROTTLING_OPTIONS = Symbol('nestjs-llm-kit:RESOLVED_THROTTLING_OPTIONS');
/** Where the guard leaves a request's charge (`RequestCharge`) for the settling interceptor. */
export const REQUEST_CHARGE = Symbol('nestjs-llm-kit:request-charge');
export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;
/** Dollar budgets are counted in micro-dollars, so the stores only see integers. */
export const MICRO_USD = 1_000_000;
