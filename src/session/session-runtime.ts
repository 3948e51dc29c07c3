import { Logger } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { LogThrottle } from '../common/log-throttle';
import type { RedisConnection } from '../redis/redis.types';
import { MemorySessionBackend } from './memory-session.backend';
import { RedisSessionBackend } from './redis-session.backend';
import {
  RequestSession,
  refOfSession,
  SESSION_CONTEXT,
  type SessionContext,
  type SessionHost,
} from './request-session';
import type { SessionBackend } from './session-backend.interface';
import { SessionCookie } from './session-cookie';
import { SessionCookieCodec } from './session-cookie-codec';
import { hookAppPrototypes, hookPerRequest } from './session-response-hooks';
import { newSessionId } from './session-id';
import type { ResolvedSessionOptions } from './session-options.resolver';
import {
  PENDING_TAG,
  SESSION_RUNTIME_KEY,
  SESSION_UNAVAILABLE,
  stateOf,
  type SessionRequest,
} from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';
import { LlmSessionStore, type LoadedSession } from './session.store';

/** True when the session holds any data (what makes a new session worth storing). */
function hasData(session: object): boolean {
  for (const key in session) {
    const value = (session as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'function') return true;
  }
  return false;
}

function sessionOf(req: Request): RequestSession | undefined {
  const session: unknown = req.session;
  return session instanceof RequestSession ? session : undefined;
}

/**
 * One configured session setup: options, backend, store and the Express middleware. The
 * module builds one; `sessionMiddleware()` builds one for plain Express.
 *
 * The middleware does what `express-session` did for us, with less work per request: it
 * reads the one cookie it needs (verified cookies are remembered, so the HMAC runs once per
 * cookie), loads the session with one read, and at the end of the response compares the
 * data with what was loaded (JSON per field, no hashing): a request that changes nothing
 * writes nothing until `touchIntervalMs` has passed. It adds one property to the request
 * (`session`); its response hooks sit on the app's prototypes (see `hookAppPrototypes`).
 */
export class SessionRuntime implements SessionHost {
  readonly backend: SessionBackend;
  readonly store: LlmSessionStore;
  readonly codec: SessionCookieCodec;
  readonly handler: RequestHandler;
  private readonly logger = new Logger('SessionModule');
  private readonly warn = new LogThrottle(this.logger, 10_000);

  constructor(
    readonly options: ResolvedSessionOptions,
    redis?: RedisConnection,
  ) {
    this.backend = redis
      ? new RedisSessionBackend(redis, options.prefix)
      : new MemorySessionBackend(options.maxMemorySessions, options.clock);
    this.store = new LlmSessionStore(this.backend, options, this.warn);
    this.codec = new SessionCookieCodec(options.cookieName, options.secrets);
    this.handler = (req, res, next) => this.handle(req, res, next);
  }

  describe(): string {
    return this.backend instanceof RedisSessionBackend
      ? 'sessions in Redis'
      : `no RedisModule: sessions kept in this process's memory (at most ${this.options.maxMemorySessions})`;
  }

  private handle(req: Request, res: Response, next: NextFunction): void {
    if (req.session) return next(); // applied twice: the first one runs
    const plainSessionId = !hookAppPrototypes(req, res);
    if (plainSessionId) hookPerRequest(req, res);
    const found = this.codec.read(req.headers.cookie);
    if (!found) {
      this.start(req, res, plainSessionId, false);
      return next();
    }
    this.store.read(found.ref, (error, loaded) => {
      if (error) return this.unavailable(req, found.id, error, next);
      if (loaded) this.attach(req, res, plainSessionId, found.id, loaded);
      else this.start(req, res, plainSessionId, false); // unknown or expired: never this id
      next();
    });
  }

  /** Routes that use the session answer 503; the others go on without one. */
  private unavailable(req: Request, id: string, error: unknown, next: NextFunction): void {
    if (!(error instanceof SessionUnavailableError)) return next(error);
    const request = req as SessionRequest;
    request[SESSION_UNAVAILABLE] = error;
    request[SESSION_RUNTIME_KEY] = this; // no session to find the runtime through
    req.sessionID = id;
    this.warn.warn('session-load', `session store unavailable: ${String(error.cause)}`);
    next();
  }

  private attach(
    req: Request,
    res: Response,
    plainSessionId: boolean,
    id: string,
    loaded: LoadedSession,
  ): void {
    const context: SessionContext = {
      host: this,
      req,
      res,
      id,
      issued: false,
      regenerated: false,
      plainSessionId,
      ref: loaded.state.ref,
    };
    req.session = new RequestSession(context, loaded.data, loaded.state) as never;
    if (plainSessionId) req.sessionID = id;
  }

  /** A new, empty session; a regenerated one gets its id now (in the user slot `create` asks for). */
  private start(req: Request, res: Response, plainSessionId: boolean, regenerated: boolean): void {
    const id = regenerated || plainSessionId ? this.newId(req) : undefined;
    const context: SessionContext = {
      host: this,
      req,
      res,
      id,
      issued: true,
      regenerated,
      plainSessionId,
    };
    req.session = new RequestSession(context) as never;
    if (plainSessionId) req.sessionID = id!;
  }

  newId(req: Request): string {
    return newSessionId((req as SessionRequest)[PENDING_TAG]);
  }

  /** Sets a new session's cookie (and `Cache-Control: no-store`) as the headers go out. */
  issueCookie(session: RequestSession, res: Response): void {
    const context = session[SESSION_CONTEXT];
    if (context.failed) return;
    // Stored already, or about to be at the end of the response (headers going out early).
    if (!stateOf(session)?.persisted && !context.regenerated && !hasData(session)) return;
    const cookie = session.cookie;
    if (cookie.secure && !context.req.secure) return; // never over plain HTTP
    const name = `${this.codec.name}=`;
    const previous = res.getHeader('set-cookie');
    const others = (Array.isArray(previous) ? previous : previous ? [String(previous)] : []).filter(
      (line) => !line.startsWith(name),
    );
    res.setHeader('Set-Cookie', [...others, this.codec.serialize(session.id, cookie)]);
    res.setHeader('Cache-Control', 'no-store');
  }

  /** Writes what the request changed (or the due idle refresh) before the response ends. */
  commit(session: RequestSession): Promise<void> | undefined {
    const context = session[SESSION_CONTEXT];
    if (context.req.session !== (session as unknown)) return undefined; // destroyed
    let pending: Promise<void> | undefined;
    try {
      const state = stateOf(session);
      if (state?.persisted) pending = this.store.commit(state, session);
      else if (context.regenerated || hasData(session)) pending = this.save(session);
    } catch (error) {
      pending = Promise.reject(error as Error); // e.g. data JSON cannot encode
    }
    return pending?.catch((error: unknown) => {
      if (!stateOf(session)?.persisted) context.failed = true;
      if (!(error instanceof SessionNotFoundError))
        this.warn.warn('session-save', `session not saved: ${String(error)}`);
    });
  }

  save(session: RequestSession): Promise<void> {
    return this.store.save(refOfSession(session), session);
  }

  destroy(session: RequestSession): Promise<void> {
    const { req } = session[SESSION_CONTEXT];
    (req as SessionRequest)[SESSION_RUNTIME_KEY] = this; // the helpers still find it afterwards
    if (req.session === (session as unknown)) {
      req.sessionID = session.id; // kept after the session is gone, as express-session keeps it
      delete (req as Partial<Request>).session;
    }
    return this.store.destroy(refOfSession(session));
  }

  async regenerate(session: RequestSession): Promise<void> {
    const { req, res, plainSessionId } = session[SESSION_CONTEXT];
    const state = stateOf(session);
    try {
      if (state?.persisted) await this.store.destroy(state.ref);
    } finally {
      this.start(req, res, plainSessionId, true);
    }
  }

  async reload(session: RequestSession): Promise<void> {
    const context = session[SESSION_CONTEXT];
    const loaded = await this.store.load(refOfSession(session));
    if (!loaded) throw new Error('failed to load session');
    context.req.session = new RequestSession(context, loaded.data, loaded.state) as never;
  }

  cookieOf(session: RequestSession): SessionCookie {
    const { cookie } = this.options;
    const context = session[SESSION_CONTEXT];
    const createdAtMs = stateOf(session)?.createdAtMs ?? this.options.clock();
    // 'auto' follows the request's protocol, as express-session does for new sessions.
    const secure = cookie.secure === 'auto' ? context.req.secure : cookie.secure === true;
    return new SessionCookie(cookie, secure, new Date(createdAtMs + this.options.absoluteTtlMs));
  }
}

/** The runtime that served a request, or undefined when the session middleware did not run. */
export function runtimeOf(req: Request): SessionRuntime | undefined {
  // Through the session (no property of its own on every request: each one added to the
  // request object costs), else the mark left when there is no session.
  const host = sessionOf(req)?.[SESSION_CONTEXT].host;
  const runtime = host ?? (req as SessionRequest)[SESSION_RUNTIME_KEY];
  return runtime instanceof SessionRuntime ? runtime : undefined;
}
