import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

const names = new WeakMap<object, { method: string; name: string }>();

/**
 * The route's name, `<METHOD> <path pattern>` (never the request's own path: it carries
 * client input): the cache's default key namespace, the stats' route label and a route's
 * `llm_kit.call_site`.
 */
export function routeName(context: ExecutionContext, req: Request): string {
  const handler = context.getHandler();
  const known = names.get(handler);
  if (known?.method === req.method) return known.name;
  const name = nameOf(context, req);
  names.set(handler, { method: req.method, name });
  return name;
}

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
