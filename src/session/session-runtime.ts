import { Logger } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type Store } from 'express-session';
import { LogThrottle } from '../common/log-throttle';
import { resolveUserId } from '../common/request-identity';
import type { RedisConnection } from '../redis/redis.types';
import { traceSessionState } from '../telemetry/kit-decisions';
import { MemorySessionBackend } from './memory-session.backend';
import { RedisSessionBackend } from './redis-session.backend';
import { newSessionId, userTag } from './session-id';
import type { ResolvedSessionOptions } from './session-options.resolver';
import {
  PENDING_TAG,
  SESSION_RUNTIME_KEY,
  SESSION_UNAVAILABLE,
  type SessionRequest,
  hasStoredSession,
} from './session-state';
import { isKitStoreError, SessionUnavailableError } from './session.errors';
import { LlmSessionStore } from './session.store';

/** Marks a response that sets (or clears) the session cookie `Cache-Control: no-store`. */
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
 * The kit's id for a new session: in the user's slot when the user is known (the user
 * `SessionService.create` names, or `req.user`, which Passport sets before it regenerates
 * the session at login), else in a random one.
 */
function kitGenid(req: Request): string {
  const pending = (req as SessionRequest)[PENDING_TAG];
  if (pending) return newSessionId(pending);
  const userId = resolveUserId({ user: (req as { user?: unknown }).user } as never);
  return newSessionId(userId === undefined ? undefined : userTag(userId));
}

/**
 * One configured session setup: the kit's store (or the app's own), its ids and the 503
 * policy, for the platform's session plugin: `express-session` (`handler`, built on first use)
 * or `@fastify/session` (session-platform.ts). The module builds one; `sessionMiddleware()`
 * builds one for plain Express.
 */
export class SessionRuntime {
  /** The store the session plugin runs on. */
  readonly store: Store;
  /** The kit's store, unless the app passed its own `store`. */
  readonly kitStore?: LlmSessionStore;
  /**
   * The new session ids: the app's `genid`, else the kit's (in the user's slot) with the kit's
   * store; undefined leaves them to the plugin (what other stores and their tools expect).
   */
  readonly genid?: (req: Request) => string;
  private readonly logger = new Logger('SessionModule');
  /** @internal */
  readonly warn = new LogThrottle(this.logger, 10_000);
  private expressHandler?: RequestHandler;

  constructor(
    readonly options: ResolvedSessionOptions,
    redis?: RedisConnection,
  ) {
    options.warnings.forEach((warning) => this.logger.warn(warning));
    if (options.store) this.store = options.store;
    else {
      const backend = redis
        ? new RedisSessionBackend(redis, options.prefix)
        : new MemorySessionBackend(options.maxMemorySessions, options.clock);
      this.store = this.kitStore = new LlmSessionStore(backend, options, this.warn);
    }
    this.genid =
      options.express.genid ?? (this.store instanceof LlmSessionStore ? kitGenid : undefined);
  }

  /** `express-session` with this setup, plus the 503 policy: the Express middleware. */
  get handler(): RequestHandler {
    this.expressHandler ??= this.expressMiddleware();
    return this.expressHandler;
  }

  private expressMiddleware(): RequestHandler {
    const { options } = this;
    const inner = session({
      ...options.express,
      genid: this.genid,
      store: this.store,
      secret: options.secrets,
      name: options.cookieName,
      cookie: options.cookie,
    });
    return (req: Request, res: Response, next: NextFunction) => {
      const request = req as SessionRequest;
      request[SESSION_RUNTIME_KEY] = this;
      noStoreWhenCookieSet(res, options.cookieName);
      let passed = false;
      inner(req, res, (error?: unknown) => {
        if (passed) {
          // express-session reports a failed end-of-request save, touch or destroy, and a
          // cookie it could not set, by calling next(err) again once the answer is under way.
          // The kit's own store failing is its 503 policy (the answer is given: logged);
          // any other error goes on to the app's error handlers, as express-session passes it.
          if (!error) return;
          if (!isKitStoreError(error)) return next(error);
          if (error instanceof SessionUnavailableError)
            this.warn.warn('session-save', `session not saved: ${String(error.cause)}`);
          return;
        }
        passed = true;
        const unavailable = error instanceof SessionUnavailableError;
        traceSessionState(unavailable ? 'unavailable' : hasStoredSession(req) ? 'carried' : 'none');
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

  /**
   * Writes the counters still pending and stops their timer (the module calls it on
   * `app.close()`). The timers never keep the process alive; this only saves the last counts.
   */
  async close(): Promise<void> {
    await this.kitStore?.counters.close();
  }

  describe(): string {
    if (!this.kitStore) return 'sessions in the store passed as `store`';
    return this.kitStore.backend instanceof RedisSessionBackend
      ? 'sessions in Redis'
      : `no RedisModule: sessions kept in this process's memory (at most ${this.options.maxMemorySessions})`;
  }
}

/** The runtime that served a request, or undefined when the session middleware did not run. */
export function runtimeOf(req: Request): SessionRuntime | undefined {
  const runtime = (req as SessionRequest)[SESSION_RUNTIME_KEY];
  return runtime instanceof SessionRuntime ? runtime : undefined;
}
