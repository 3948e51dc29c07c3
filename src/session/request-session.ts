import type { Request, Response } from 'express';
import type { SessionRef } from './session-backend.interface';
import type { SessionCookie } from './session-cookie';
import { refOf } from './session-id';
import { setState, type SessionState } from './session-state';

/** What a request's session asks of the runtime that made it. */
export interface SessionHost {
  save(session: RequestSession): Promise<void>;
  destroy(session: RequestSession): Promise<void>;
  regenerate(session: RequestSession): Promise<void>;
  reload(session: RequestSession): Promise<void>;
  cookieOf(session: RequestSession): SessionCookie;
  /** A fresh id for a new session of this request. */
  newId(req: Request): string;
  /** The end-of-request write; undefined when there is nothing to write. */
  commit(session: RequestSession): Promise<void> | undefined;
  /** Sets the cookie of a new session on the response, if it is to be sent. */
  issueCookie(session: RequestSession, res: Response): void;
}

/** A session's link to its request (kept off the data: a symbol key is not enumerated). */
export const SESSION_CONTEXT = Symbol('nestjs-llm-kit:session-context');

export interface SessionContext {
  readonly host: SessionHost;
  readonly req: Request;
  readonly res: Response;
  /** The id; a new session's is drawn when first needed (most anonymous requests never do). */
  id?: string;
  /** True when the id is new in this request (no cookie, an unknown one, or regenerated). */
  readonly issued: boolean;
  /** Regenerated sessions are saved even without data, as `express-session` saves them. */
  readonly regenerated: boolean;
  /** Set when the end-of-request save failed: the cookie is not sent then. */
  failed?: boolean;
  /** Set once the response's `end` ran the end-of-request write. */
  ended?: boolean;
  /** `req.sessionID` is a plain property of this request, not the app's accessor: set it. */
  readonly plainSessionId: boolean;
  cookie?: SessionCookie;
  ref?: SessionRef;
}

type Callback = (error?: unknown) => void;

/** Where a session lives in the store (computed once, when first needed). */
export function refOfSession(session: RequestSession): SessionRef {
  return (session[SESSION_CONTEXT].ref ??= refOf(session.id)!);
}

function settle(work: Promise<void>, callback: Callback | undefined): void {
  work.then(
    () => callback?.(),
    (error: unknown) => callback?.(error),
  );
}

/**
 * `req.session`: the session's data as its own properties, and `express-session`'s methods
 * (`regenerate`, `destroy`, `save`, `reload`, `touch`, `resetMaxAge`, `id`, `cookie`) on the
 * prototype, so only the data is enumerated, compared and stored.
 *
 * @example
 * req.session.theme = 'dark'; // written at the end of the request (only this field)
 * req.session.regenerate((error) => {}); // new id, old session deleted
 */
export class RequestSession {
  [SESSION_CONTEXT]: SessionContext;

  constructor(context: SessionContext, data?: Record<string, unknown>, state?: SessionState) {
    this[SESSION_CONTEXT] = context;
    if (state) setState(this, state);
    if (!data) return;
    const fields = this as unknown as Record<string, unknown>;
    for (const key in data) if (!(key in this)) fields[key] = data[key];
  }

  /** The session id (also `req.sessionID`). */
  get id(): string {
    const context = this[SESSION_CONTEXT];
    return (context.id ??= context.host.newId(context.req));
  }

  /** The session cookie's settings; changes apply when the cookie is sent. */
  get cookie(): SessionCookie {
    const context = this[SESSION_CONTEXT];
    return (context.cookie ??= context.host.cookieOf(this));
  }

  set cookie(value: Partial<SessionCookie>) {
    Object.assign(this.cookie, value);
  }

  /** Deletes this session and starts a new one under a new id at `req.session`. */
  regenerate(callback?: Callback): this {
    settle(this[SESSION_CONTEXT].host.regenerate(this), callback);
    return this;
  }

  /** Deletes the session in the store and unsets `req.session`. */
  destroy(callback?: Callback): this {
    settle(this[SESSION_CONTEXT].host.destroy(this), callback);
    return this;
  }

  /** Writes the session now (only the changed fields of a stored one). */
  save(callback?: Callback): this {
    settle(this[SESSION_CONTEXT].host.save(this), callback);
    return this;
  }

  /** Reads the session from the store again into a new `req.session`. */
  reload(callback?: Callback): this {
    settle(this[SESSION_CONTEXT].host.reload(this), callback);
    return this;
  }

  /** Resets the cookie's `maxAge` to its `originalMaxAge` (as `express-session`). */
  touch(): this {
    return this.resetMaxAge();
  }

  resetMaxAge(): this {
    const cookie = this.cookie;
    cookie.maxAge = cookie.originalMaxAge;
    return this;
  }
}
