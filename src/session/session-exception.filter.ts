import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { noSessionException, storeDownException } from './session-http-errors';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';

/**
 * Answers the session errors of `SessionService`: `SessionUnavailableError` -> 503,
 * `SessionNotFoundError` -> 401, both as JSON. Registered globally by `SessionModule`.
 *
 * @example
 * app.useGlobalFilters(new SessionExceptionFilter()); // only needed with sessionMiddleware()
 */
@Catch(SessionUnavailableError, SessionNotFoundError)
export class SessionExceptionFilter implements ExceptionFilter {
  catch(error: SessionUnavailableError | SessionNotFoundError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const http =
      error instanceof SessionUnavailableError ? storeDownException() : noSessionException();
    if (res.headersSent) return;
    if (error instanceof SessionUnavailableError) res.setHeader('Retry-After', '1');
    res.status(http.getStatus()).json(http.getResponse());
  }
}
