import { Logger } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { LogThrottle } from '../common/log-throttle';
import type { RedisConnection } from '../redis/redis.types';
import { MemorySessionBackend } from './memory-session.backend';
import { RedisSessionBackend } from './redis-session.backend';
import type { SessionBackend } from './session-backend.interface';
import { newSessionId } from './session-id';
import type { ResolvedSessionOptions } from './session-options.resolver';
import {
  PENDING_TAG,
  SESSION_RUNTIME_KEY,
  SESSION_UNAVAILABLE,
  type SessionRequest,
} from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';
import { LlmSessionStore } from './session.store';

/** Marks responses that set (or clear) the session cookie `Cache-Control: no-store`. */
function noStoreWhenCookieSet(res: Response, cookieName: string): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const cookies = this.getHeader('set-cookie');
    const list = Array.isArray(cookies) ? cookies : cookies ? [String(cookies)] : [];
    if (list.some((cookie) => cookie.startsWith(`${cookieName}=`)))
      this.setHeader('Cache-Control', 'no-store');
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
}

/**
 * One configured session setup: options, backend, store and the Express middleware. The
 * module builds one; `sessionMiddleware()` builds one for plain Express.
 */
export class SessionRuntime {
  readonly backend: SessionBackend;
  readonly store: LlmSessionStore;
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
    const inner = session({
      store: this.store,
      secret: options.secrets,
      name: options.cookieName,
      cookie: options.cookie,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      genid: (req) => newSessionId((req as SessionRequest)[PENDING_TAG]),
    });
    this.handler = (req: Request, res: Response, next: NextFunction) => {
      const request = req as SessionRequest;
      request[SESSION_RUNTIME_KEY] = this;
      noStoreWhenCookieSet(res, options.cookieName);
      inner(req, res, (error?: unknown) => {
        if (!error) return next();
        if (res.headersSent) {
          // The end-of-request save or touch failed after the answer went out.
          if (!(error instanceof SessionNotFoundError))
            this.warn.warn('session-save', `session not saved: ${String(error)}`);
          return;
        }
        if (error instanceof SessionUnavailableError) {
          // Routes that use the session answer 503; the others go on without one.
          request[SESSION_UNAVAILABLE] = error;
          this.warn.warn('session-load', `session store unavailable: ${String(error.cause)}`);
          return next();
        }
        next(error);
      });
    };
  }

  describe(): string {
    return this.backend instanceof RedisSessionBackend
      ? 'sessions in Redis'
      : `no RedisModule: sessions kept in this process's memory (at most ${this.options.maxMemorySessions})`;
  }
}

/** The runtime that served a request, or undefined when the session middleware did not run. */
export function runtimeOf(req: Request): SessionRuntime | undefined {
  const runtime = (req as SessionRequest)[SESSION_RUNTIME_KEY];
  return runtime instanceof SessionRuntime ? runtime : undefined;
}
