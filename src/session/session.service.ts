import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { SessionData } from 'express-session';
import { requestSessionId } from '../common/http-exchange';
import { resolveUserId } from '../common/request-identity';
import { traceSessionState } from '../telemetry/kit-decisions';
import { CLEAR_SITE_DATA, SESSION_RUNTIME } from './session.constants';
import { handleOf, refOf, userTag } from './session-id';
import type { SessionInfo } from './session-info.interface';
import type { SessionRuntime } from './session-runtime';
import {
  hasStoredSession,
  linkRequest,
  PENDING_TAG,
  SESSION_UNAVAILABLE,
  type SessionRequest,
} from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';
import type { LlmSessionStore } from './session.store';

function call(fn: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

/**
 * Creates, reads, updates and ends sessions (through the session plugin's `req.session`:
 * `express-session` on Express, `@fastify/session` on Fastify), and
 * lists and revokes a user's sessions on every device (through the kit's store). Errors:
 * `SessionUnavailableError` (store down: 503) and `SessionNotFoundError` (no session: 401),
 * answered by the module's exception filter.
 *
 * @example
 * await this.sessions.create(req, { userId: user.id });
 * const mine = await this.sessions.listForUser(user.id, req);
 */
@Injectable()
export class SessionService {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  private ready(req: Request): NonNullable<Request['session']> {
    const unavailable = (req as SessionRequest)[SESSION_UNAVAILABLE];
    if (unavailable) throw unavailable;
    if (!req.session)
      throw new Error(
        'SessionService: the session middleware did not run on this route; add it to SessionModule `routes`.',
      );
    return req.session;
  }

  private kitStore(): LlmSessionStore {
    const store = this.runtime.kitStore;
    if (!store)
      throw new Error(
        "SessionService: listing and revoking sessions needs the kit's store; remove the `store` option.",
      );
    return store;
  }

  /**
   * Logs a user in: starts a session for `data` under a fresh id (`regenerate`: the old one,
   * if any, is destroyed, the fixation defence) and saves it before returning the new id.
   * `data.userId` (a non-empty string or a finite number) is required: it files the session
   * under the user for `listForUser` and the cap. Without one it throws before touching the
   * session, so a login that lost its user cannot yield a session that passes `SessionGuard`
   * (an anonymous session is `req.session`'s, saved by `express-session`).
   */
  async create(
    req: Request,
    data: Partial<SessionData> & Record<string, unknown>,
  ): Promise<string> {
    const userId = resolveUserId({ session: { userId: data?.userId } } as unknown as Request);
    if (userId === undefined)
      throw new TypeError(
        'SessionService.create: data.userId must be a non-empty string or a finite number (the user ' +
          'logging in); for anonymous data write to req.session instead.',
      );
    this.ready(req);
    const request = req as SessionRequest;
    request[PENDING_TAG] = userTag(userId);
    try {
      await call((done) => req.session.regenerate(done));
    } finally {
      delete request[PENDING_TAG];
    }
    // The new session (either platform's regenerate replaces req.session) tells the store
    // its request: metadata and the Secure-cookie check.
    linkRequest(req);
    Object.assign(req.session, data);
    await call((done) => req.session.save(done));
    traceSessionState('created');
    return requestSessionId(req)!;
  }

  /** The request's stored session, or undefined when it has none. */
  get<T extends object = SessionData>(req: Request): (T & SessionData) | undefined {
    const session = this.ready(req);
    return hasStoredSession(req) ? (session as unknown as T & SessionData) : undefined;
  }

  /** Merges `patch` into the stored session and saves it now; only the changed fields are written. */
  async update(req: Request, patch: Partial<SessionData> & Record<string, unknown>): Promise<void> {
    const session = this.ready(req);
    if (!hasStoredSession(req)) throw new SessionNotFoundError();
    Object.assign(session, patch);
    await call((done) => session.save(done));
  }

  /** Logs out: deletes the session in the store, clears the cookie and sends `Clear-Site-Data`. */
  async destroy(req: Request, res: Response): Promise<void> {
    const session = this.ready(req);
    // Unset attributes are undefined in express-session's cookie, null in @fastify/session's.
    const { path, domain, secure, sameSite, partitioned } = session.cookie as {
      path?: string | null;
      domain?: string | null;
      secure?: boolean | 'auto' | null;
      sameSite?: boolean | 'lax' | 'strict' | 'none' | null;
      partitioned?: boolean | null;
    };
    if (hasStoredSession(req)) await call((done) => session.destroy(done));
    // `clearCookie` and `header` are on Express's response and on Fastify's reply (@fastify/cookie).
    res.clearCookie(this.runtime.options.cookieName, {
      path: path ?? '/',
      domain: domain ?? undefined,
      httpOnly: true,
      secure: secure === true,
      sameSite: sameSite ?? undefined,
      partitioned: partitioned ?? undefined,
    });
    res.header('Clear-Site-Data', CLEAR_SITE_DATA);
    res.header('Cache-Control', 'no-store');
  }

  /** The public handle of the request's session (as in `listForUser`), if it has a stored one. */
  currentId(req: Request): string | undefined {
    const id = hasStoredSession(req) ? requestSessionId(req) : undefined;
    const ref = id === undefined ? undefined : refOf(id);
    return ref && handleOf(ref);
  }

  /** The user's live sessions, oldest first; `req` marks the current one. */
  listForUser(userId: string, req?: Request): Promise<SessionInfo[]> {
    return this.kitStore().listForUser(userId, req && this.currentId(req));
  }

  /** Ends the session with this handle (from `listForUser`); false when there was none. */
  revoke(id: string): Promise<boolean> {
    return this.kitStore().revoke(id);
  }

  /** Ends every session of the user but `except` (a handle, e.g. `currentId(req)`); returns how many. */
  revokeAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    return this.kitStore().revokeAllForUser(userId, options.except);
  }

  /** False when the request's session could not be loaded because the store is down. */
  isAvailable(req: Request): boolean {
    return !((req as SessionRequest)[SESSION_UNAVAILABLE] instanceof SessionUnavailableError);
  }
}
