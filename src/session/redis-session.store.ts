import { Logger } from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import type { RedisConnection } from '../redis/redis.types';
import { RedisSessionBackend } from './redis-session.backend';
import { resolveStoreOptions } from './session-options.resolver';
import { LlmSessionStore } from './session.store';

/** Options of `RedisSessionStore`: the client, and the store settings of `SessionModule`. */
export interface RedisSessionStoreOptions {
  /** The node-redis 5 client or cluster (the kit never closes it). */
  client: RedisConnection;
  /** Key prefix. @default 'sess:' */
  prefix?: string;
  /** Adopt sessions `connect-redis` wrote under this prefix (see SessionModule). @default none */
  legacyPrefix?: string;
  /** Idle timeout. @default 86_400_000 (24 h, ms) */
  ttlMs?: number;
  /** Absolute lifetime. @default 604_800_000 (7 days, ms) */
  absoluteTtlMs?: number;
  /** At most one idle refresh per this interval. @default 60_000 (ms), or ttlMs / 10 */
  touchIntervalMs?: number;
  /** Most sessions per user (0: no cap). @default 0 */
  maxSessionsPerUser?: number;
  /** Bound of every store call. @default 1000 (ms) */
  storeTimeoutMs?: number;
  /** The `proxy` option you gave `express-session`, for the undelivered-cookie check. */
  proxy?: boolean;
  /** Clock of the expiry checks (ms). @default Date.now */
  clock?: () => number;
}

/**
 * The kit's Redis session store, for a plain `express-session` app too: hashed keys, a
 * per-user index (one cluster slot per user), throttled touch, logout wins over in-flight
 * requests, every call bounded, and adoption of `connect-redis` sessions.
 *
 * @example
 * app.use(session({ store: new RedisSessionStore({ client }), secret, resave: false, saveUninitialized: false }));
 */
export class RedisSessionStore extends LlmSessionStore {
  constructor({ client, ...options }: RedisSessionStoreOptions) {
    const resolved = resolveStoreOptions(options);
    const warn = new LogThrottle(new Logger('RedisSessionStore'), 10_000);
    super(new RedisSessionBackend(client, resolved.prefix), resolved, warn);
  }
}
