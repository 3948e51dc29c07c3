import type { RequestMethod } from '@nestjs/common';
import type { Request } from 'express';
import type { CookieOptions, SessionOptions, Store } from 'express-session';

/** One secret of the session cookie: a string, or a `Buffer` (`express-session` >= 1.18). */
export type SessionSecret = string | Buffer;

/** A route the session middleware runs on or skips, as Nest's `forRoutes` takes it. */
export type SessionRoute = { path: string; method: RequestMethod };

/**
 * `express-session`'s cookie options (`maxAge`, `expires`, `domain`, `path`, `httpOnly`,
 * `secure`, `sameSite`, `partitioned`, `priority`...), with the kit's defaults.
 */
export interface SessionCookieOptions extends CookieOptions {
  /**
   * Cookie name; the top-level `name` is the `express-session` spelling and wins.
   * @default '__Host-sid' when the cookie is Secure with `Path=/` and no `Domain`, else 'sid'
   */
  name?: string;
  /**
   * `true` sends the cookie over HTTPS only (behind a TLS proxy, also set Express's
   * `trust proxy` or the `proxy` option); `'auto'` follows the request's protocol (refused in
   * production; handy in tests over plain http).
   * @default true, except when the environment is 'development'
   */
  secure?: boolean | 'auto';
  /**
   * SameSite attribute; `'none'` needs `secure: true`.
   * @default 'lax'
   */
  sameSite?: CookieOptions['sameSite'];
  /**
   * Cookie lifetime in ms, sent as the cookie's `Expires` attribute (as `express-session` does).
   * @default absoluteTtlMs
   */
  maxAge?: number;
}

/**
 * Options of `SessionModule.forRoot()` / `forRootAsync()` and of `sessionMiddleware()`: every
 * `express-session` option, passed through as it documents it, plus the kit's own.
 *
 * @example
 * SessionModule.forRoot({ secret: process.env.SESSION_SECRET!, ttlMs: 30 * 60_000 })
 */
export interface SessionModuleOptions extends Omit<SessionOptions, 'secret' | 'cookie' | 'store'> {
  /**
   * Signs the session cookie. Required; in production at least 32 bytes, not a well-known or
   * repetitive value (elsewhere such a secret is logged as a warning). An array rotates
   * secrets: the first signs new cookies, every one of them verifies. Strings or `Buffer`s,
   * as `express-session` takes them (a `Buffer` counts its bytes).
   */
  secret: SessionSecret | SessionSecret[];
  /**
   * `express-session`'s cookie options (or a function of the request returning them), over
   * the kit's defaults: `HttpOnly`, `SameSite=Lax`, `Secure` outside development, `Path=/`.
   */
  cookie?: SessionCookieOptions | ((req: Request) => SessionCookieOptions);
  /**
   * An `express-session` store of your own; it replaces the kit's store (then the per-user
   * index, `listForUser`, `revoke*` and the cap are not available).
   * @default the kit's store: Redis when RedisModule is present, else a bounded memory store
   */
  store?: Store;
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
   * Prefix of every Redis key the kit's store writes.
   * @default 'sess:'
   */
  prefix?: string;
  /**
   * Adoption from `connect-redis`: the prefix it wrote under (`'sess:'` is its default). A
   * cookie whose session is not in the kit's store is looked up at `<legacyPrefix><id>` and
   * moved into the kit's format, so switching stores logs nobody out.
   * @default undefined (no adoption)
   */
  legacyPrefix?: string;
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
   * The environment the start-up checks apply to ('production' refuses an insecure cookie or
   * a weak secret).
   * @default process.env.NODE_ENV, else 'development'
   */
  environment?: string;
  /**
   * Clock of the idle and absolute expiry checks (ms since the epoch), for tests.
   * @default Date.now
   */
  clock?: () => number;
}
