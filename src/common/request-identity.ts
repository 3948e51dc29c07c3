import type { Request } from 'express';

interface MaybeAuthenticated {
  user?: { id?: unknown; sub?: unknown; userId?: unknown };
  session?: { userId?: unknown };
}

function asId(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The authenticated user of a request, as the kit sees it: `req.user.id` (or `sub`, or
 * `userId`, as Passport strategies set it), else the session's `userId`. Undefined for an
 * anonymous request.
 *
 * @example
 * const userId = resolveUserId(req); // '42' | undefined
 */
export function resolveUserId(req: Request): string | undefined {
  const { user, session } = req as Request & MaybeAuthenticated;
  return asId(user?.id) ?? asId(user?.sub) ?? asId(user?.userId) ?? asId(session?.userId);
}
