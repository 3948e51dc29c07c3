import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { SessionGuard } from './session.guard';

/** Metadata key set by `@RequireSession()`. */
export const REQUIRE_SESSION = 'nestjs-llm-kit:require-session';

/**
 * The route (or every route of the controller) needs a session: 401 JSON without one.
 *
 * @example
 * @RequireSession()
 * @Get('profile')
 * profile(@Session('userId') userId: string) {}
 */
export const RequireSession = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(REQUIRE_SESSION, true), UseGuards(SessionGuard));
