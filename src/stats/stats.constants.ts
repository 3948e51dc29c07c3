/** Injection token of the resolved StatsModule options (defaults merged, validated). */
export const STATS_OPTIONS = Symbol('nestjs-llm-kit:STATS_OPTIONS');
/** Injection token of prom-client when it is installed (`null` otherwise). */
export const PROM_CLIENT = Symbol('nestjs-llm-kit:PROM_CLIENT');
/** Route metadata: the route changes state and is refused when the module is unprotected. */
export const STATS_PRIVILEGED = 'nestjs-llm-kit:stats-privileged';
/** Route metadata: the route skips the token check (the dashboard page holds no figures). */
export const STATS_TOKEN_EXEMPT = 'nestjs-llm-kit:stats-token-exempt';
