import type { CookieOptions } from 'express-session';
import type { SessionCookieAttributes } from './session-cookie-codec';

/**
 * `req.session.cookie`: the settings of the session's cookie, shaped as `express-session`'s
 * `Cookie` (`maxAge`, `expires`, `originalMaxAge`, `resetMaxAge` through the session,
 * `httpOnly`, `secure`, `sameSite`, `path`). Changes apply when the cookie is sent: when a
 * session is created or gets a new id. Built only when something reads it.
 *
 * @example
 * req.session.cookie.expires = false; // a browser-session cookie for this new session
 */
export class SessionCookie implements SessionCookieAttributes {
  path = '/';
  httpOnly = true;
  secure: boolean;
  sameSite?: CookieOptions['sameSite'];
  domain?: string;
  originalMaxAge: number | null;
  private expiresAt: Date | null | false | undefined;

  constructor(options: CookieOptions, secure: boolean, expires: Date) {
    this.secure = secure;
    this.sameSite = options.sameSite;
    this.originalMaxAge = options.maxAge ?? null;
    this.expiresAt = expires;
  }

  get expires(): Date | null | false | undefined {
    return this.expiresAt;
  }

  set expires(date: Date | null | false | undefined) {
    this.expiresAt = date;
    this.originalMaxAge = this.maxAge ?? null;
  }

  /** Milliseconds until the cookie expires (as `express-session`: set it to move `expires`). */
  get maxAge(): number | undefined {
    return this.expiresAt instanceof Date ? this.expiresAt.getTime() - Date.now() : undefined;
  }

  set maxAge(ms: number | null | undefined) {
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms;
  }

  /** The cookie as `express-session` serializes it (its `data`). */
  toJSON(): object {
    const { originalMaxAge, expiresAt: expires, secure, httpOnly, domain, path, sameSite } = this;
    return { originalMaxAge, expires, secure, httpOnly, domain, path, sameSite };
  }
}
