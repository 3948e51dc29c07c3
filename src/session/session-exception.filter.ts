import { type ArgumentsHost, Catch, type ExceptionFilter, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Response } from 'express';
import { rawResponse } from '../common/http-exchange';
import { noSessionException, storeDownException } from './session-http-errors';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';

/**
 * Answers the session errors of `SessionService`: `SessionUnavailableError` -> 503 with
 * `Retry-After`, `SessionNotFoundError` -> 401, both as JSON, through the app's HTTP adapter
 * (Express or Fastify). Registered globally by `SessionModule`.
 *
 * @example
 * app.useGlobalFilters(new SessionExceptionFilter()); // only needed with sessionMiddleware()
 */
@Catch(SessionUnavailableError, SessionNotFoundError)
export class SessionExceptionFilter implements ExceptionFilter {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: SessionUnavailableError | SessionNotFoundError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const http =
      error instanceof SessionUnavailableError ? storeDownException() : noSessionException();
    if (rawResponse(res).headersSent) return;
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter) {
      // `new SessionExceptionFilter()` beside sessionMiddleware(): a plain Express app.
      if (error instanceof SessionUnavailableError) res.setHeader('Retry-After', '1');
      res.status(http.getStatus()).json(http.getResponse());
      return;
    }
    if (error instanceof SessionUnavailableError) adapter.setHeader(res, 'Retry-After', '1');
    adapter.reply(res, http.getResponse(), http.getStatus());
  }
}
