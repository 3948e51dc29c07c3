import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiCacheInterceptor } from './api-cache.interceptor';
import { CACHE_API_METADATA } from './caching.constants';
import type { CacheApiOptions } from './caching-options.interface';

/**
 * Caches a GET route's JSON by URL and vary headers (default scope `'global'`: use it for
 * answers that do not depend on the caller), with an `ETag` that lets clients revalidate
 * with `If-None-Match` and get a 304. Pair it with `ApiCacheClient` for the upstream calls.
 *
 * @example
 * @Get('repos/:owner/:repo')
 * @CacheApi({ ttlMs: 60_000 })
 * repo(@Param('owner') owner: string, @Param('repo') repo: string) { ... }
 */
export const CacheApi = (options: CacheApiOptions = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(CACHE_API_METADATA, options), UseInterceptors(ApiCacheInterceptor));
