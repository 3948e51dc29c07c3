// The public API of nestjs-llm-kit, listed by name. Nothing else is importable (the `exports`
// map forbids deep imports), and everything here is covered by semver: keep internals out.
// src/public-api.spec.ts pins this list; README.md "API" lists it by module.

// Redis
export { RedisModule } from './redis/redis.module';
export { REDIS_CLIENT, InjectRedis } from './redis/redis.constants';
export type { RedisModuleOptions } from './redis/redis-module-options.interface';
export type { RedisClient, RedisCluster, RedisConnection } from './redis/redis.types';
export { RedisHealthService, type RedisHealth } from './redis/redis-health.service';
export { RedisConnectError, RedisOptionsError } from './redis/redis.errors';

// Throttling
export { ThrottlingModule } from './throttling/throttling.module';
export { ThrottlingGuard } from './throttling/throttling.guard';
export { ThrottlingStats } from './throttling/throttling-stats.service';
export { RateLimit, LLMThrottle, SkipRateLimit } from './throttling/throttling.decorators';
export { LlmBudgetExceededError, ThrottlingOptionsError } from './throttling/throttling.errors';
export type { ViolatedBudget } from './throttling/throttling.errors';
export type { ThrottlerStorageRecord } from './throttling/throttler-storage.adapter';
export { MemoryThrottleStore } from './throttling/memory-throttle.store';
export { RedisThrottleStore } from './throttling/redis-throttle.store';
export type {
  ThrottleStore,
  ThrottleCheck,
  CheckResult,
  ConsumeResult,
  SettleItem,
  Charge,
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

// LLM pricing and usage (shared by caching and throttling)
export { DEFAULT_PRICES, PRICES_AS_OF, type ModelPrice } from './llm/llm-pricing';
export type { LlmUsage } from './llm/llm-usage';
export { resolveUserId } from './common/request-identity';

// Caching
export { CachingModule } from './caching/caching.module';
export type {
  CachingModuleOptions,
  CacheLlmOptions,
  CacheApiOptions,
  CacheScope,
} from './caching/caching-options.interface';
export { CacheLLM } from './caching/cache-llm.decorator';
export { CacheApi } from './caching/cache-api.decorator';
export { LlmCacheService, type LlmCacheCallOptions } from './caching/llm-cache.service';
export { LlmCacheStats } from './caching/llm-cache.stats';
export {
  ApiCacheClient,
  type ApiCacheResponse,
  type ApiCacheGetOptions,
  type ApiCacheStatus,
} from './caching/api-cache.client';
export { CachingOptionsError, CacheKeyError } from './caching/caching.errors';
export type { CacheManagerLike } from './caching/cache-manager.store';
export { DEFAULT_KEY_DENY_LIST } from './caching/cache-key';

// Sessions
import './session/session-data.types';
export { SessionModule } from './session/session.module';
export type {
  SessionModuleOptions,
  SessionCookieOptions,
  SessionRoute,
  SessionSecret,
} from './session/session-module-options.interface';
export { SessionService } from './session/session.service';
export type { SessionInfo } from './session/session-info.interface';
export { Session } from './session/session.decorator';
export type { ParamDecoratorFactory } from './common/nest-compat';
export { SessionGuard } from './session/session.guard';
export { RequireSession } from './session/require-session.decorator';
export { SessionExceptionFilter } from './session/session-exception.filter';
export { SessionStats } from './session/session.stats';
export { createSession, destroySession, sessionMiddleware } from './session/session.helpers';
export {
  SessionOptionsError,
  SessionUnavailableError,
  SessionNotFoundError,
} from './session/session.errors';

// Stats
export { StatsModule } from './stats/stats.module';
export type { StatsModuleOptions } from './stats/stats-module-options.interface';
export { StatsService, type SectionResult } from './stats/stats.service';
export { StatsOptionsError } from './stats/stats.errors';
export type {
  StatsReport,
  ProcessStats,
  StatsSeries,
  StatsSeriesPoint,
  StatsSectionSnapshots,
} from './stats/stats-report.interface';
export { StatsSource, type StatsSection, type StatsSnapshotSource } from './common/stats-source';
export type {
  CacheSliceStats,
  CacheStatsSnapshot,
  ThrottlingStatsSnapshot,
  SessionStatsSnapshot,
} from './common/stats-shapes';

// Sessions: the kit's express-session store, usable with plain express-session too
export { RedisSessionStore } from './session/redis-session.store';
export type { RedisSessionStoreOptions } from './session/redis-session.store';
export type { LlmSessionStore } from './session/session.store';
// LLM calls made in services: provider SDK wrappers, AI SDK middleware, request context
export { LlmCallsModule } from './llm-calls/llm-calls.module';
export { LlmCallService } from './llm-calls/llm-call.service';
export type { LlmCallSiteOptions } from './llm-calls/llm-call-site.interface';
export type { CallBudgetOptions } from './throttling/call-budget';
export { LlmCallContextInterceptor } from './llm-calls/llm-call-context.interceptor';
export { runAs, type LlmCallIdentity } from './llm-calls/request-context';
export { CallStream } from './caching/call-stream';
export { wrapOpenAI, type OpenAILike } from './llm-calls/openai.wrapper';
export { wrapAnthropic, type AnthropicLike } from './llm-calls/anthropic.wrapper';
export { llmCallsMiddleware, type AiSdkMiddleware } from './llm-calls/ai-sdk.middleware';
export { LlmCallIdentityError } from './llm-calls/llm-calls.errors';
export type { CachedCallOptions, CachedStreamOptions } from './caching/cached-call.options';
export type { StreamShape } from './llm-calls/llm-call.service';
// Caching: the error of an unreachable @CacheApi upstream
export { ApiUpstreamError } from './caching/caching.errors';
