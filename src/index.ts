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
