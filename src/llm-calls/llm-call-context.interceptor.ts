import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { requestOf } from '../common/execution-request';
import { runInRequest } from './request-context';

/**
 * Runs a WebSocket gateway's or GraphQL resolver's handlers in their request's async context
 * (HTTP routes get it from `LlmCallsModule`: a middleware on Express, a hook on Fastify). Apply it
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
