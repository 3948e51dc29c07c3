import type { Request } from 'express';
import { requestSessionId } from './http-exchange';

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

/**
 * The id of the session the request's cookie carried, when the session plugin found it in the
 * store; undefined for an anonymous request (whose session id is a fresh one the plugin
 * generates on every request and nobody stored). Works with any store and on both platforms:
 * `express-session` and `@fastify/session` (which the kit runs with express-session's cookie
 * format) keep the cookie's id only when the signature holds and the store has the session,
 * and a generated id cannot be in the request's own cookie header.
 *
 * @example
 * const id = carriedSessionId(req); // undefined for a new visitor
 */
export function carriedSessionId(req: Request): string | undefined {
  const id = requestSessionId(req);
  if (!(req as Partial<Request>).session || !id) return undefined;
  const header = req.headers.cookie;
  if (!header) return undefined;
  // express-session's cookie value: `s:<id>.<signature>`, URL-encoded.
  const encoded = `s%3A${encodeURIComponent(id)}.`;
  return header.includes(encoded) || header.includes(`s:${id}.`) ? id : undefined;
}
