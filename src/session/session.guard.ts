import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { noSessionException } from './session-http-errors';
import { hasStoredSession, SESSION_UNAVAILABLE, type SessionRequest } from './session-state';

/**
 * Lets a request through only with a stored session (401 JSON otherwise; 503 while the
 * session store is down). `@RequireSession()` applies it.
 *
 * @example
 * @UseGuards(SessionGuard)
 * @Get('profile')
 * profile() {}
 */
@Injectable()
export class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    // The store's error itself: the module's filter answers it 503 with Retry-After.
    const unavailable = (req as SessionRequest)[SESSION_UNAVAILABLE];
    if (unavailable) throw unavailable;
    if (!hasStoredSession(req)) throw noSessionException();
    return true;
  }
}
