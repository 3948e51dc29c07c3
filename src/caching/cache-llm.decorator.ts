import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { CACHE_LLM_METADATA } from './caching.constants';
import { SSE_METADATA } from './cache-route';
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
export const CacheLLM = (options: CacheLlmOptions = {}): MethodDecorator & ClassDecorator => {
  const decorate = applyDecorators(
    SetMetadata(CACHE_LLM_METADATA, options),
    UseInterceptors(LlmCacheInterceptor),
  );
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) decorate(target, key as string | symbol, descriptor);
    else decorate(target as never);
    // The guard only matters on an @Sse() route (and would cost every other hit a guard
    // run). Whether the method is one is known once all its decorators have run, whatever
    // their order: after this one, in a microtask, long before Nest reads the route.
    const handler: unknown = descriptor?.value;
    if (typeof handler !== 'function') {
      UseGuards(LlmCacheSseGuard)(target as never);
      return;
    }
    queueMicrotask(() => {
      if (Reflect.getMetadata(SSE_METADATA, handler) !== undefined)
        UseGuards(LlmCacheSseGuard)(target, key as string | symbol, descriptor!);
    });
  };
};
