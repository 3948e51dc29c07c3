// The public API of nestjs-llm-kit, listed by name. Nothing else is importable.

// Redis
export { RedisModule } from './redis/redis.module';
export { REDIS_CLIENT, InjectRedis } from './redis/redis.constants';
export type { RedisModuleOptions } from './redis/redis-module-options.interface';
export type { RedisClient, RedisCluster, RedisConnection } from './redis/redis.types';
export { RedisHealthService, type RedisHealth } from './redis/redis-health.service';
export { RedisScript, type RedisScriptReply } from './redis/redis-script';
export { RedisConnectError, RedisOptionsError } from './redis/redis.errors';
export { hashTag, digest, redactUrl } from './redis/redis-keys';

// Throttling
export { ThrottlingModule } from './throttling/throttling.module';
export { ThrottlingGuard } from './throttling/throttling.guard';
export {
  ThrottlingService,
  type PolicyCheck,
  type Evaluation,
} from './throttling/throttling.service';
export { ThrottlingStats } from './throttling/throttling-stats.service';
export { BudgetSettleInterceptor } from './throttling/budget-settle.interceptor';
export { RateLimit, LLMThrottle, SkipRateLimit } from './throttling/throttling.decorators';
export { THROTTLING_PRESETS } from './throttling/throttling.constants';
export { ThrottlingOptionsError } from './throttling/throttling.errors';
export { MemoryThrottleStore } from './throttling/memory-throttle.store';
export { RedisThrottleStore } from './throttling/redis-throttle.store';
export type {
  ThrottleStore,
  ThrottleCheck,
  CheckResult,
  ConsumeResult,
  SettleItem,
} from './throttling/throttle-store.interface';
export type {
  ThrottlingModuleOptions,
  RateLimitPolicy,
  InlineRateLimit,
  LlmThrottleOptions,
  LimitReachedDetail,
  Tracker,
  TrackerKind,
  FailurePolicy,
  HeaderStyle,
} from './throttling/throttling-options.interface';
