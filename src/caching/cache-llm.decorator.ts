import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { CACHE_LLM_METADATA } from './caching.constants';
import type { CacheLlmOptions } from './caching-options.interface';
import { LlmCacheInterceptor } from './llm-cache.interceptor';
import { LlmCacheSseGuard } from './llm-cache-sse.guard';

/**
 * Caches a route's LLM response by its parameters (the request body minus fields that do
 * not change the answer). Hits answer with `X-Cache: HIT`, `Age` and `X-Cache-Cost-Saved`;
 * identical concurrent misses make one upstream call; a returned AsyncIterable or
 * Observable is sent as SSE, recorded, and replayed on later hits; an `@Sse()` route's
 * events are recorded and replayed through Nest. `@Res()` routes are bypassed.
 *
 * @example
 * @Post('generate')
 * @CacheLLM({ ttlMs: 600_000, scope: 'user' })
 * generate(@Body() body: ChatRequest) { return this.openai.chat.completions.create(body); }
 */
export const CacheLLM = (options: CacheLlmOptions = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(CACHE_LLM_METADATA, options),
    UseGuards(LlmCacheSseGuard),
    UseInterceptors(LlmCacheInterceptor),
  );
