import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { digest } from '../redis/redis-keys';
import type { SessionRef } from './session-backend.interface';

// A session id the kit generates is `<userTag>.<random>`: the tag (16 hex) routes it to its
// user's Redis slot without a lookup; the random part (32 bytes, base64url) is the secret.
// Any other id (an app's own `genid`, one adopted from connect-redis) lives in a slot of its
// own hash. Only hashes of the id ever reach Redis or the logs.
const SESSION_ID = /^([0-9a-f]{16})\.[A-Za-z0-9_-]{43}$/;
const MAX_ID_LENGTH = 512;
const HANDLE = /^([0-9a-f]{16})\.([0-9a-f]{32})$/;

/** The slot tag of a user's sessions: a hash of the user id, never the id itself. */
export function userTag(userId: string): string {
  return digest(`user:${userId}`, 16);
}

/** A fresh session id in the given slot (a random slot for anonymous sessions). */
export function newSessionId(tag = randomBytes(8).toString('hex')): string {
  return `${tag}.${randomBytes(32).toString('base64url')}`;
}

// Every request hashes its session id; remembering the last few thousand saves the SHA-256.
const refCache = new LRUCache<string, SessionRef>({ max: 4096 });

/** Where a session id's session lives; undefined for an empty or oversized id. */
export function refOf(sessionId: string): SessionRef | undefined {
  const cached = refCache.get(sessionId);
  if (cached) return cached;
  if (typeof sessionId !== 'string' || !sessionId || sessionId.length > MAX_ID_LENGTH)
    return undefined;
  const idHash = digest(sessionId, 32);
  const ref = { tag: SESSION_ID.exec(sessionId)?.[1] ?? idHash.slice(0, 16), idHash };
  refCache.set(sessionId, ref);
  return ref;
}

/** The public handle of a session (`listForUser`, `revoke`): slot tag + id hash. */
export function handleOf(ref: SessionRef): string {
  return `${ref.tag}.${ref.idHash}`;
}

/** The reverse of `handleOf`; undefined for a malformed handle. */
export function refOfHandle(handle: string): SessionRef | undefined {
  const match = HANDLE.exec(handle);
  return match ? { tag: match[1]!, idHash: match[2]! } : undefined;
}
