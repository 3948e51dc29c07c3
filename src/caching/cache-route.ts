import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

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

/**
 * The route's name, `<METHOD> <path pattern>` (never the request's own path: it carries
 * client input), the default key namespace and the route label of the stats.
 */
export function routeName(context: ExecutionContext, req: Request): string {
  const handler = context.getHandler();
  const known = names.get(handler);
  if (known?.method === req.method) return known.name;
  const name = nameOf(context, req);
  names.set(handler, { method: req.method, name });
  return name;
}

const names = new WeakMap<object, { method: string; name: string }>();

function nameOf(context: ExecutionContext, req: Request): string {
  const express = (req.route as { path?: unknown } | undefined)?.path;
  const fastify = (req as { routeOptions?: { url?: unknown } }).routeOptions?.url;
  const pattern =
    typeof express === 'string'
      ? express
      : typeof fastify === 'string'
        ? fastify
        : `${context.getClass().name}.${context.getHandler().name}`;
  return `${req.method} ${pattern}`;
}
