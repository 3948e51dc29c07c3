import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { cacheRoute } from './cache-route';
import { LlmCacheInterceptor } from './llm-cache.interceptor';

/**
 * Part of `@CacheLLM()`: on an `@Sse()` route, does the cache lookup and the single-flight
 * step before the interceptors run (Nest sends an SSE route's headers right after it
 * subscribes to them, too early for an answer from Redis). Always lets the request through;
 * a cache error here only means the interceptor does the work itself.
 *
 * @example
 * @Sse('events')
 * @CacheLLM() // applies LlmCacheInterceptor and this guard
 * events(): Observable<MessageEvent> { ... }
 */
@Injectable()
export class LlmCacheSseGuard implements CanActivate {
  constructor(private readonly interceptor: LlmCacheInterceptor) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http' || !cacheRoute(context).sse) return true;
    return this.interceptor.prepare(context).then(
      () => true,
      () => true,
    );
  }
}
