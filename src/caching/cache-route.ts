import type { ExecutionContext } from '@nestjs/common';

// Nest's metadata keys and param types (@Sse(), @Res(), @Next(), passthrough), the same in
// Nest 11 and 12; written out because Nest 12 exports them from no path Nest 11 has.
export const SSE_METADATA = '__sse__';
const ROUTE_ARGS_METADATA = '__routeArguments__';
const RESPONSE_PASSTHROUGH_METADATA = '__responsePassthrough__';
const RESPONSE = 1;
const NEXT = 2;

/** What a `@CacheLLM` route's handler is, as far as caching is concerned (read once per handler). */
export interface CacheRoute {
  /** `@Sse()`: Nest sends the interceptor's Observable as events itself. */
  sse: boolean;
  /** `@Res()` / `@Next()` without passthrough: the handler answers by itself, nothing to cache. */
  respondsItself: '@Res()' | '@Next()' | undefined;
}

const routes = new WeakMap<object, CacheRoute>();

/** The handler's shape, from Nest's own metadata. */
export function cacheRoute(context: ExecutionContext): CacheRoute {
  const handler = context.getHandler();
  let route = routes.get(handler);
  if (route) return route;
  const host = context.getClass();
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, host, handler.name) ?? {}) as Record<
    string,
    unknown
  >;
  const types = Object.keys(args).map((key) => Number(key.split(':')[0]));
  const passthrough =
    Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, host, handler.name) === true;
  route = {
    sse: Reflect.getMetadata(SSE_METADATA, handler) !== undefined,
    respondsItself: passthrough
      ? undefined
      : types.includes(RESPONSE)
        ? '@Res()'
        : types.includes(NEXT)
          ? '@Next()'
          : undefined,
  };
  routes.set(handler, route);
  return route;
}
