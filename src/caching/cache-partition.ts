import { createHmac } from 'node:crypto';
import type { Request } from 'express';
import { resolveUserId } from '../common/request-identity';
import type { CacheScope } from './caching-options.interface';

/** The partition of anonymous requests under the `'auto'` scope: apart from every user's. */
export const ANONYMOUS_PARTITION = 'anon';
/** The partition of the `'global'` scope. */
export const GLOBAL_PARTITION = 'global';

/**
 * The partition a request's entries live in, or undefined when the scope needs a user and
 * the request has none (then it is not cached). User ids and scope functions' values are
 * HMAC-ed with the module's secret: the key never carries a raw id.
 *
 * @example
 * cachePartition('auto', req, secret) // 'u:4be1...' or 'anon'
 */
export function cachePartition(
  scope: CacheScope,
  req: Request | undefined,
  secret: string,
  userId?: string,
): string | undefined {
  if (scope === 'global') return GLOBAL_PARTITION;
  const hmac = (value: string): string =>
    createHmac('sha256', secret).update(value).digest('hex').slice(0, 32);
  if (typeof scope === 'function') return req ? `f:${hmac(scope(req))}` : undefined;
  const user = userId ?? (req ? resolveUserId(req) : undefined);
  if (user !== undefined) return `u:${hmac(user)}`;
  return scope === 'auto' ? ANONYMOUS_PARTITION : undefined;
}
