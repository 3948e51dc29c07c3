import { Module, type NestModule, Optional, type Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LLM_CACHE_PROBE } from '../common/cache-probe';
import { answerNotModified, setUpFastify } from '../common/http-exchange';
import { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS } from '../redis/redis.constants';
import type { RedisConnection } from '../redis/redis.types';
import { ApiCacheClient } from './api-cache.client';
import { ApiCacheInterceptor } from './api-cache.interceptor';
import { LLM_CACHE_STORE, RESOLVED_CACHING_OPTIONS } from './caching.constants';
import { CACHING_MODULE_OPTIONS, CachingConfigurableModule } from './caching.module-definition';
import type { CachingModuleOptions, ResolvedCachingOptions } from './caching-options.interface';
import { resolveCachingOptions } from './caching-options';
import { LlmCacheInterceptor } from './llm-cache.interceptor';
import { LlmCacheSseGuard } from './llm-cache-sse.guard';
import { LlmCacheProbeService } from './llm-cache.probe';
import { LlmCacheService } from './llm-cache.service';
import { LlmCacheStats } from './llm-cache.stats';
import { CacheManagerStore } from './cache-manager.store';
import { MemoryCacheStore } from './memory-cache.store';
import { RedisCacheStore } from './redis-cache.store';
import { TieredCacheStore } from './tiered-cache.store';

const providers: Provider[] = [
  {
    provide: RESOLVED_CACHING_OPTIONS,
    inject: [CACHING_MODULE_OPTIONS, { token: REDIS_CLIENT, optional: true }],
    useFactory: (options: CachingModuleOptions, redis?: RedisConnection) =>
      resolveCachingOptions(options, redis !== undefined),
  },
  {
    provide: LLM_CACHE_STORE,
    inject: [
      RESOLVED_CACHING_OPTIONS,
      { token: REDIS_CLIENT, optional: true },
      { token: REDIS_COMMAND_TIMEOUT_MS, optional: true },
    ],
    useFactory: (options: ResolvedCachingOptions, redis?: RedisConnection, timeoutMs?: number) =>
      new TieredCacheStore(
        new MemoryCacheStore(options.l1.maxEntries, options.l1.maxEntryBytes),
        options.store
          ? new CacheManagerStore(options.store, options.keyPrefix)
          : redis
            ? new RedisCacheStore(redis, options.keyPrefix, timeoutMs)
            : undefined,
        options.l1.ttlMs,
      ),
  },
  LlmCacheStats,
  LlmCacheService,
  LlmCacheProbeService,
  { provide: LLM_CACHE_PROBE, useExisting: LlmCacheProbeService },
  LlmCacheInterceptor,
  LlmCacheSseGuard,
  ApiCacheInterceptor,
  ApiCacheClient,
];

/**
 * The LLM response cache: `@CacheLLM()` routes, `LlmCacheService`, `@CacheApi()` routes and
 * `ApiCacheClient`. In memory by default; with `RedisModule` imported, a bounded in-process
 * L1 in front of Redis on the shared client. Global unless `isGlobal: false`. On Fastify it
 * adds the `onSend` hook that answers a matching `If-None-Match` with a 304 (Express's
 * `res.send` does that itself).
 *
 * @example
 * @Module({
 *   imports: [
 *     RedisModule.forRoot({ url: process.env.REDIS_URL }),
 *     CachingModule.forRoot({ ttlMs: 3_600_000, partitionSecret: process.env.CACHE_SECRET }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({
  providers,
  exports: [
    RESOLVED_CACHING_OPTIONS,
    LLM_CACHE_STORE,
    LlmCacheStats,
    LlmCacheService,
    LlmCacheProbeService,
    LLM_CACHE_PROBE,
    LlmCacheInterceptor,
    LlmCacheSseGuard,
    ApiCacheInterceptor,
    ApiCacheClient,
  ],
})
export class CachingModule extends CachingConfigurableModule implements NestModule {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {
    super();
  }

  // Nest runs this in app.init() before it adds the routes, as for SessionModule's plugin and
  // LlmCallsModule's hook: the instance is not ready yet.
  configure(): void {
    setUpFastify(this.adapterHost?.httpAdapter, 'CachingModule', answerNotModified);
  }
}
