// The public API of nestjs-llm-kit, listed by name. Nothing else is importable.

// Redis
export { RedisModule } from './redis/redis.module';
export { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS, InjectRedis } from './redis/redis.constants';
export { withDeadline, RedisTimeoutError } from './redis/deadline';
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
export { LlmCacheInterceptor } from './caching/llm-cache.interceptor';
export { ApiCacheInterceptor } from './caching/api-cache.interceptor';
export {
  ApiCacheClient,
  type ApiCacheResponse,
  type ApiCacheGetOptions,
  type ApiCacheStatus,
} from './caching/api-cache.client';
export { CachingOptionsError, CacheKeyError } from './caching/caching.errors';
export type { CacheManagerLike } from './caching/cache-manager.store';
export {
  canonicalJson,
  cacheKeyHash,
  keyParams,
  DEFAULT_KEY_DENY_LIST,
  CACHE_KEY_VERSION,
} from './caching/cache-key';
export { parseCacheControl, type RequestCacheControl } from './caching/cache-control';

// Sessions
import './session/session-data.types';
export { SessionModule } from './session/session.module';
export type {
  SessionModuleOptions,
  SessionCookieOptions,
  SessionRoute,
} from './session/session-module-options.interface';
export { SessionService } from './session/session.service';
export type { SessionInfo } from './session/session-info.interface';
export { Session } from './session/session.decorator';
export { SessionGuard } from './session/session.guard';
export { RequireSession, REQUIRE_SESSION } from './session/require-session.decorator';
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
export { StatsController } from './stats/stats.controller';
export { StatsService, type SectionResult } from './stats/stats.service';
export { StatsSeriesService } from './stats/stats-series.service';
export { StatsMetricsService } from './stats/stats-metrics.service';
export { StatsAuthGuard } from './stats/stats-auth.guard';
export { StatsOptionsError } from './stats/stats.errors';
export type {
  StatsReport,
  ProcessStats,
  StatsSeries,
  StatsSeriesPoint,
  StatsSectionSnapshots,
} from './stats/stats-report.interface';
export {
  StatsSource,
  STATS_SOURCE_METADATA,
  type StatsSection,
  type StatsSnapshotSource,
} from './common/stats-source';
export type {
  CacheSliceStats,
  CacheStatsSnapshot,
  ThrottlingStatsSnapshot,
  SessionStatsSnapshot,
} from './common/stats-shapes';
// h13a: the @Sse() half of @CacheLLM, and the error of an unreachable @CacheApi upstream.
export { LlmCacheSseGuard } from './caching/llm-cache-sse.guard';
export { ApiUpstreamError } from './caching/caching.errors';
