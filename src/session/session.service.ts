import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { SessionData } from 'express-session';
import { CLEAR_SITE_DATA, SESSION_RUNTIME } from './session.constants';
import { handleOf, refOf, refOfHandle, userTag } from './session-id';
import type { SessionInfo } from './session-info.interface';
import type { SessionRuntime } from './session-runtime';
import {
  hasStoredSession,
  PENDING_TAG,
  SESSION_UNAVAILABLE,
  setState,
  type SessionRequest,
} from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';

function call(fn: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

/**
 * Creates, reads, updates and ends sessions, and lists and revokes a user's sessions on
 * every device. Errors: `SessionUnavailableError` (store down: 503) and
 * `SessionNotFoundError` (no session: 401), answered by the module's exception filter.
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

  /**
   * Starts a session for `data` under a fresh id (the old one, if any, is destroyed: the
   * fixation defence) and saves it before returning the new id. Put the user in
   * `data.userId`: it files the session under the user for `listForUser` and the cap.
   */
  async create(
    req: Request,
    data: Partial<SessionData> & Record<string, unknown>,
  ): Promise<string> {
    this.ready(req);
    const request = req as SessionRequest;
    const userId = data.userId;
    request[PENDING_TAG] = userId === undefined ? undefined : userTag(String(userId));
    try {
      await call((done) => req.session.regenerate(done));
    } finally {
      delete request[PENDING_TAG];
    }
    Object.assign(req.session, data);
    const ref = refOf(req.sessionID);
    if (!ref) throw new Error('SessionService: unexpected session id format.');
    const now = this.runtime.options.clock();
    setState(req.session, {
      ref,
      persisted: false,
      loaded: {},
      createdAtMs: now,
      lastSeenAtMs: now,
      ip: req.ip,
      userAgent: req.get('user-agent'),
    });
    await call((done) => req.session.save(done));
    return req.sessionID;
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
    if (hasStoredSession(req)) await call((done) => session.destroy(done));
    const { cookie, cookieName } = this.runtime.options;
    res.clearCookie(cookieName, {
      path: '/',
      httpOnly: true,
      secure: cookie.secure === true,
      sameSite: cookie.sameSite as 'lax' | 'strict' | 'none',
    });
    res.setHeader('Clear-Site-Data', CLEAR_SITE_DATA);
    res.setHeader('Cache-Control', 'no-store');
  }

  /** The public handle of the request's session (as in `listForUser`), if it has a stored one. */
  currentId(req: Request): string | undefined {
    const ref = hasStoredSession(req) ? refOf(req.sessionID) : undefined;
    return ref && handleOf(ref);
  }

  /** The user's live sessions, oldest first; `req` marks the current one. */
  async listForUser(userId: string, req?: Request): Promise<SessionInfo[]> {
    const { store, backend, options } = this.runtime;
    const now = options.clock();
    const tag = userTag(userId);
    const current = req && this.currentId(req);
    const rows = await store.guarded(backend.list(tag));
    return rows
      .map(({ idHash, fields }) => ({
        id: handleOf({ tag, idHash }),
        createdAt: new Date(Number(fields.c)),
        lastSeenAt: new Date(Number(fields.s)),
        ip: fields.ip || undefined,
        userAgent: fields.ua || undefined,
        current: handleOf({ tag, idHash }) === current,
      }))
      .filter(
        (info) =>
          now - info.lastSeenAt.getTime() < options.ttlMs &&
          now - info.createdAt.getTime() < options.absoluteTtlMs,
      );
  }

  /** Ends the session with this handle (from `listForUser`); false when there was none. */
  async revoke(id: string): Promise<boolean> {
    const ref = refOfHandle(id);
    if (!ref) return false;
    const removed = await this.runtime.store.guarded(this.runtime.backend.remove(ref));
    if (removed) this.runtime.store.count({ revoked: 1, inactive: [id] });
    return removed;
  }

  /** Ends every session of the user but `except` (a handle, e.g. `currentId(req)`); returns how many. */
  async revokeAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    const tag = userTag(userId);
    const except = options.except ? refOfHandle(options.except) : undefined;
    const { store, backend } = this.runtime;
    const removed = await store.guarded(
      backend.removeAll(tag, except?.tag === tag ? except.idHash : undefined),
    );
    if (removed.length > 0)
      store.count({
        revoked: removed.length,
        inactive: removed.map((idHash) => handleOf({ tag, idHash })),
      });
    return removed.length;
  }

  /** False when the request's session could not be loaded because the store is down. */
  isAvailable(req: Request): boolean {
    return !((req as SessionRequest)[SESSION_UNAVAILABLE] instanceof SessionUnavailableError);
  }
}
