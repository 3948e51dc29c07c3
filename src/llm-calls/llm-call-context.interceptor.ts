import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { runInRequest } from './request-context';

type WithRequest = { request?: Request; req?: Request };

/** The request behind a WebSocket or GraphQL handler call, if there is one. */
function requestOf(context: ExecutionContext): Request | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<Request>();
  // socket.io keeps the handshake request as `client.request`; ws does when the adapter does.
  if (type === 'ws') return context.switchToWs().getClient<WithRequest | undefined>()?.request;
  if (type === 'graphql') return (context.getArgs<unknown[]>()[2] as WithRequest | undefined)?.req;
  return undefined;
}

/**
 * Runs a WebSocket gateway's or GraphQL resolver's handlers in their request's async context
 * (HTTP routes get it from `LlmCallContextMiddleware`, applied by `LlmCallsModule`). Apply it
 * where those handlers make wrapped LLM calls.
 *
 * @example
 * @UseInterceptors(LlmCallContextInterceptor)
 * @WebSocketGateway()
 * export class ChatGateway {}
 */
@Injectable()
export class LlmCallContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = requestOf(context);
    if (!req) return next.handle();
    // handle() binds the handler to the async context it is called in (Nest 12), subscribe()
    // runs it (Nest 11): do both inside the request's context.
    return new Observable((subscriber) =>
      runInRequest(req, () => next.handle().subscribe(subscriber)),
    );
  }
}
