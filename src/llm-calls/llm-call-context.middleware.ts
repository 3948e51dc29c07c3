import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { Request } from 'express';
import { runInRequest } from './request-context';

/**
 * Runs the rest of an HTTP request (guards, interceptors, handler, everything they await) in
 * the request's async context, so a wrapped LLM call anywhere below knows the caller. The
 * user is read from the request when a call is made, so guards that authenticate later are
 * seen. Applied to every route by `LlmCallsModule` on Express: a middleware, not a global
 * interceptor, so routes that make no LLM call do not pay for an interceptor pipeline. (On
 * Fastify, Nest middleware gets Node's request, so the module enters the same context in an
 * `onRequest` hook with Fastify's request instead.)
 *
 * @example
 * // applied by LlmCallsModule; nothing to do per route.
 */
@Injectable()
export class LlmCallContextMiddleware implements NestMiddleware {
  use(req: Request, _res: unknown, next: () => void): void {
    runInRequest(req, next);
  }
}
