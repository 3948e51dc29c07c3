import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { catchError, Observable, throwError } from 'rxjs';
import { tooManyRequests } from '../throttling/rate-limit-problem';
import { LlmBudgetExceededError } from './llm-calls.errors';
import { runInRequest } from './request-context';

type WithRequest = { request?: Request; handshake?: unknown; req?: Request };

/** The request behind an HTTP, WebSocket or GraphQL handler call, if there is one. */
function requestOf(context: ExecutionContext): Request | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<Request>();
  if (type === 'ws') {
    // ws: the upgrade request is on the client (`@nestjs/platform-ws` keeps it as `request`
    // when asked to, socket.io as `client.request`).
    const client = context.switchToWs().getClient<WithRequest>();
    return client?.request;
  }
  if (type === 'graphql') {
    const gqlContext = context.getArgs<unknown[]>()[2] as WithRequest | undefined;
    return gqlContext?.req;
  }
  return undefined;
}

/**
 * Runs every handler in its request's async context, so wrapped LLM calls made anywhere
 * below it know the caller (registered globally by `LlmCallsModule`). Inside an HTTP request,
 * an `LlmBudgetExceededError` becomes the 429 problem+json a `@LLMThrottle()` route sends.
 *
 * @example
 * // registered by LlmCallsModule.forRoot(); nothing to do per route.
 */
@Injectable()
export class LlmCallContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = requestOf(context);
    if (!req) return next.handle();
    const http = context.getType() === 'http';
    return new Observable((subscriber) =>
      runInRequest(req, () =>
        next
          .handle()
          .pipe(
            catchError((error: unknown) =>
              throwError(() =>
                http && error instanceof LlmBudgetExceededError
                  ? tooManyRequests(
                      context.switchToHttp().getResponse<Response>(),
                      error.message,
                      error.violated,
                      error.retryAfterSeconds,
                    )
                  : error,
              ),
            ),
          )
          .subscribe(subscriber),
      ),
    );
  }
}
