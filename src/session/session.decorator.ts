import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { ParamDecoratorFactory } from '../common/nest-compat';
import { SESSION_UNAVAILABLE, type SessionRequest } from './session-state';

/**
 * The request's session (typed by `SessionData`, augmentable), or one of its properties;
 * pipes apply as with `@Param`. Answers 503 while the session store is down.
 *
 * @example
 * @Get('profile')
 * profile(@Session('userId') userId: string | undefined) {}
 *
 * @Post('theme')
 * theme(@Session() session: SessionData) { session.theme = 'dark'; }
 */
export const Session: ParamDecoratorFactory<string> = createParamDecorator(
  (property: string | undefined, context: ExecutionContext): unknown => {
    const req = context.switchToHttp().getRequest<Request>();
    // The store's error itself: the module's filter answers it 503 with Retry-After.
    const unavailable = (req as SessionRequest)[SESSION_UNAVAILABLE];
    if (unavailable) throw unavailable;
    const session = req.session as unknown as Record<string, unknown> | undefined;
    return property ? session?.[property] : session;
  },
);
