import type { RequestMethod } from '@nestjs/common';

/** A route the session middleware runs on or skips, as Nest's `forRoutes` takes it. */
export type SessionRoute = { path: string; method: RequestMethod };

/** Cookie settings of `SessionModule`. There is no `domain`: the cookie stays on its host. */
export interface SessionCookieOptions {
  /**
   * Cookie name.
   * @default '__Host-sid' when the cookie is Secure, else 'sid'
   */
  name?: string;
  /**
   * `true` sends the cookie over HTTPS only (behind a TLS proxy, also set Express's
   * `trust proxy`); `'auto'` follows the request's protocol (refused in production).
   * @default true, except when the environment is 'development'
   */
  secure?: boolean | 'auto';
  /**
   * SameSite attribute; `'none'` needs `secure: true`.
   * @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none';
}

/**
 * Options of `SessionModule.forRoot()` / `forRootAsync()` and of `sessionMiddleware()`.
 *
 * @example
 * SessionModule.forRoot({ secret: process.env.SESSION_SECRET!, ttlMs: 30 * 60_000 })
 */
export interface SessionModuleOptions {
  /**
   * Signs the session cookie: at least 32 bytes. An array rotates secrets: the first signs
   * new cookies, every one of them verifies.
   */
  secret: string | string[];
  /**
   * Idle timeout: a session not used for this long is gone.
   * @default 86_400_000 (24 h, ms)
   */
  ttlMs?: number;
  /**
   * Absolute lifetime: a session is gone this long after it was created, however active.
   * @default 604_800_000 (7 days, ms)
   */
  absoluteTtlMs?: number;
  /**
   * Prefix of every Redis key the module writes.
   * @default 'sess:'
   */
  prefix?: string;
  /** Cookie settings. */
  cookie?: SessionCookieOptions;
  /**
   * A request that changes nothing refreshes the idle timer in the store at most once per
   * this interval; must be shorter than `ttlMs`.
   * @default 60_000 (ms), or ttlMs / 10 when that is shorter
   */
  touchIntervalMs?: number;
  /**
   * Most sessions one user may hold; a new login evicts the oldest. 0 means no cap.
   * @default 0
   */
  maxSessionsPerUser?: number;
  /**
   * Routes the middleware runs on (Nest `forRoutes` arguments).
   * @default every route
   */
  routes?: (string | SessionRoute)[];
  /** Routes the middleware skips (Nest `exclude` arguments). @default none */
  exclude?: (string | SessionRoute)[];
  /**
   * A store operation waiting longer than this fails, and the route answers 503.
   * @default 1000 (ms)
   */
  storeTimeoutMs?: number;
  /**
   * Most sessions the embedded memory store (used without Redis) keeps; the oldest go first.
   * @default 10_000
   */
  maxMemorySessions?: number;
  /**
   * The environment the start-up checks apply to ('production' refuses an insecure cookie).
   * @default process.env.NODE_ENV, else 'development'
   */
  environment?: string;
  /**
   * Clock of the idle and absolute expiry checks (ms since the epoch), for tests.
   * @default Date.now
   */
  clock?: () => number;
}
