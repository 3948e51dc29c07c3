import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { Store } from 'express-session';
import { LRUCache } from 'lru-cache';
import { isObject } from '../common/is-object';
import { optionalRequire } from '../common/optional-require';
import { traceSessionState } from '../telemetry/kit-decisions';
import type { SessionRuntime } from './session-runtime';
import {
  hasStoredSession,
  linkRequest,
  linkSession,
  type SessionState,
  SESSION_RUNTIME_KEY,
  SESSION_UNAVAILABLE,
  setState,
  stateOf,
} from './session-state';
import {
  INSECURE_SESSION_NOT_STORED,
  isKitStoreError,
  SessionOptionsError,
  SessionUnavailableError,
} from './session.errors';

// The session plugin of each platform, at the edge of the kit's one store and one service:
// Express runs `express-session` (session-runtime.ts); Fastify runs `@fastify/cookie` +
// `@fastify/session`, registered here, with the same store and express-session's cookie format.

const INSTALL_HINT = 'npm install @fastify/session @fastify/cookie';
/** What `@fastify/session` accepts as a secret (it refuses shorter strings). */
const FASTIFY_MIN_SECRET_CHARS = 32;
/** Set by the module on a session while `@fastify/session` saves it at the end of the request. */
const END_SAVE = Symbol('nestjs-llm-kit:end-save');
/** Sessions being regenerated at once (a bound; each leaves when the plugin stores it, at once). */
const MAX_REGENERATING = 10_000;

type Done = (error?: unknown) => void;
type Hook = (request: FastifyRequestLike, reply: FastifyReplyLike, ...rest: unknown[]) => void;

/** `@fastify/session`'s session: data as properties, `sessionId`, `isModified()`. */
interface FastifySessionLike {
  sessionId: string;
  isModified(): boolean;
  [key: string | symbol]: unknown;
}

interface FastifyRequestLike {
  session?: FastifySessionLike | null;
  protocol?: string;
  [key: symbol]: unknown;
}

interface FastifyReplyLike {
  getHeader(name: string): unknown;
  header(name: string, value: string | string[]): unknown;
  removeHeader(name: string): unknown;
}

/** The part of a Fastify instance the module uses. */
export interface FastifyInstanceLike {
  register(plugin: unknown, options?: object): PromiseLike<unknown>;
  addHook(name: string, hook: Hook): unknown;
  hasPlugin(name: string): boolean;
}

function fail(message: string): never {
  throw new SessionOptionsError(`SessionModule on Fastify: ${message}`);
}

/** `@fastify/cookie` and `@fastify/session`, or a start-up error that says how to install them. */
function loadPlugins(): { cookie: unknown; session: unknown } {
  const cookie = optionalRequire<{ default: unknown }>('@fastify/cookie');
  const session = optionalRequire<{ default: unknown }>('@fastify/session');
  const missing = [session ? [] : ['@fastify/session'], cookie ? [] : ['@fastify/cookie']].flat();
  if (!cookie || !session)
    fail(
      `sessions on Fastify run on @fastify/session and @fastify/cookie, and ${missing.join(' and ')} ` +
        `${missing.length > 1 ? 'are' : 'is'} not installed: \`${INSTALL_HINT}\`.`,
    );
  return { cookie: cookie.default, session: session.default };
}

/** `@fastify/session`'s options for the runtime's, or a start-up error for one it cannot honour. */
function pluginOptions(
  runtime: SessionRuntime,
  { store, idGenerator }: { store: object; idGenerator?: (request: Request) => string },
): Record<string, unknown> {
  const { options } = runtime;
  options.secrets.forEach((secret, i) => {
    if (secret.length < FASTIFY_MIN_SECRET_CHARS)
      fail(
        `@fastify/session needs every secret to be at least ${FASTIFY_MIN_SECRET_CHARS} characters, and ` +
          `${options.secrets.length > 1 ? `secret[${i}]` : 'secret'} has ${secret.length}: generate one with ` +
          "`node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"`.",
      );
  });
  if (typeof options.cookie === 'function')
    fail(
      '`cookie` as a function of the request is an express-session option; pass an object (per request, ' +
        'call request.session.options({...}) in a hook).',
    );
  const { resave, unset, proxy } = options.express;
  if (resave === true)
    fail(
      '`resave: true` is an express-session option; remove it (`rolling: true` re-saves on Fastify).',
    );
  if (unset === 'destroy')
    fail(
      "`unset: 'destroy'` is an express-session option; remove it and call SessionService.destroy().",
    );
  // express-session's `proxy` has no counterpart: Fastify's own `trustProxy` decides which
  // requests are https (request.protocol), for the plugin and for the kit's store alike.
  if (proxy !== undefined)
    new Logger('SessionModule').warn(
      'SessionModule on Fastify: `proxy` is an express-session option and is not used; the adapter decides ' +
        'which requests came over https: new FastifyAdapter({ trustProxy }).',
    );
  if (options.routes.length > 0 || options.exclude.length > 0)
    fail('the session plugin runs on every route on Fastify; remove `routes` and `exclude`.');
  return {
    secret: options.secrets,
    cookieName: options.cookieName,
    // express-session's cookie value (`s:<id>.<signature>`, the same HMAC): a cookie works on both platforms.
    cookiePrefix: 's:',
    cookie: { ...options.cookie },
    store,
    idGenerator,
    saveUninitialized: options.express.saveUninitialized,
    rolling: options.express.rolling,
  };
}

/** A plugin Fastify does not encapsulate: its hooks run for every route (what fastify-plugin marks). */
function global(plugin: (instance: FastifyInstanceLike, options: object, done: Done) => void) {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}

/**
 * What `@fastify/session` leaves to the kit: the 503 policy (a store that is down loads no
 * session and clears no cookie), the store's state on the loaded session, the idle refresh
 * (`touch`, which the plugin never calls), a failed end-of-request save logged as on Express,
 * and `Cache-Control: no-store` on a response that sets the cookie.
 */
class FastifySessions {
  /** Set while the plugin takes the session the store just loaded (a synchronous window). */
  private loading?: { sid: string; state?: SessionState; unavailable?: Error };
  readonly store: Pick<Store, 'get' | 'set' | 'destroy'>;
  /**
   * The request of each session a handler regenerates, by its new id, until the plugin stores
   * it (at once): the kit's store reads the device (IP, User-Agent) and the Secure test from
   * it, and the plugin's new session has no link to it (express-session's has `session.req`).
   */
  private readonly regenerating = new LRUCache<string, Request>({ max: MAX_REGENERATING });
  readonly idGenerator?: (request: Request) => string;

  constructor(private readonly runtime: SessionRuntime) {
    const inner = runtime.store;
    const genid = runtime.genid;
    // The plugin calls it for a visitor's first session (no `request.session` yet) and for
    // `regenerate()` (over the current one).
    if (genid)
      this.idGenerator = (request) => {
        const id = genid(request);
        if ((request as { session?: unknown }).session) this.regenerating.set(id, request);
        return id;
      };
    this.store = {
      get: (sid, callback) =>
        inner.get(sid, (error, data) => {
          // The plugin builds its session from `data` and runs the next onRequest hook (ours)
          // before this returns: the hook takes what the plugin's copy of the data lacks.
          const unavailable = error instanceof SessionUnavailableError ? error : undefined;
          if (error && !unavailable) return callback(error);
          this.loading = { sid, state: stateOf(data), unavailable };
          try {
            callback(null, unavailable ? null : data);
          } finally {
            this.loading = undefined;
          }
        }),
      set: (sid, session, callback) => this.save(sid, session, callback),
      destroy: (sid, callback) => inner.destroy(sid, callback),
    };
  }

  private save(sid: string, session: object, callback?: Done): void {
    const request = this.regenerating.get(sid);
    if (request) {
      this.regenerating.delete(sid);
      linkSession(session, request);
    }
    const fastifySession = session as FastifySessionLike;
    const state = stateOf(session);
    const atEnd = fastifySession[END_SAVE] === true;
    const done: Done = (error) => callback?.(atEnd ? this.reportEndError(error) : error);
    // `regenerate()` stores the new, empty session at once; express-session's does not (the
    // session is stored once it holds data), and a login's user must be in it when it is created.
    if (!atEnd && !state?.persisted && !hasData(session)) return done();
    // An end-of-request save of an unchanged session (`rolling`) is the idle refresh: throttled.
    if (atEnd && state?.persisted && !fastifySession.isModified() && this.runtime.store.touch)
      return this.runtime.store.touch(sid, session as never, done);
    this.runtime.store.set(sid, session as never, done);
  }

  /** A failure of the kit's store after the answer is made is logged (as on Express); others go on. */
  private reportEndError(error: unknown): unknown {
    if (!error || !isKitStoreError(error)) return error;
    if (error instanceof SessionUnavailableError)
      this.runtime.warn.warn('session-save', `session not saved: ${String(error.cause)}`);
    return undefined;
  }

  /** Before `@fastify/session`'s onSend: marks its save, and refreshes an unchanged session. */
  readonly beforePlugin = global((instance, _options, done) => {
    instance.addHook('onSend', (request, _reply, _payload, next) => {
      const session = request.session;
      if (!isObject(session)) return (next as Done)();
      // A new session whose Secure cookie this request cannot carry is neither stored nor
      // sent (as on Express): @fastify/session would still send the cookie of one saved
      // during the request.
      const cookie = session.cookie as { secure?: unknown } | undefined;
      if (!stateOf(session)?.persisted && cookie?.secure === true && request.protocol !== 'https') {
        if (this.runtime.kitStore)
          this.runtime.warn.warn('session-insecure', INSECURE_SESSION_NOT_STORED);
        request.session = null;
        return (next as Done)();
      }
      session[END_SAVE] = true;
      linkRequest(request as unknown as Request);
      const store = this.runtime.store;
      const idle = stateOf(session)?.persisted && !session.isModified();
      if (!idle || this.runtime.options.express.rolling || !store.touch) return (next as Done)();
      const touched: Done = (error) => (next as Done)(this.reportEndError(error));
      store.touch(session.sessionId, session as never, touched);
    });
    done();
  });

  /** After `@fastify/session`: its loaded session gets the store's state; `no-store` on a cookie. */
  readonly afterPlugin = global((instance, _options, done) => {
    const { cookieName } = this.runtime.options;
    instance.addHook('onRequest', (request, _reply, next) => {
      request[SESSION_RUNTIME_KEY] = this.runtime;
      const loading = this.loading;
      this.loading = undefined;
      const session = request.session;
      if (loading?.unavailable) {
        // Routes that use the session answer 503; the others go on without one, and the
        // plugin, with no session, neither saves nor clears the cookie: nothing is lost.
        request[SESSION_UNAVAILABLE] = loading.unavailable;
        request.session = null;
        this.runtime.warn.warn(
          'session-load',
          `session store unavailable: ${String(loading.unavailable.cause)}`,
        );
      } else if (session && loading?.state && session.sessionId === loading.sid)
        setState(session, loading.state);
      linkRequest(request as unknown as Request);
      const carried = hasStoredSession(request as unknown as Request);
      traceSessionState(loading?.unavailable ? 'unavailable' : carried ? 'carried' : 'none');
      (next as Done)();
    });
    instance.addHook('onSend', (request, reply, _payload, next) => {
      const cookies = reply.getHeader('set-cookie');
      const list = (Array.isArray(cookies) ? cookies : cookies ? [cookies] : []).map(String);
      const ours = list.filter((cookie) => cookie.startsWith(`${cookieName}=`));
      if (ours.length > 0) reply.header('Cache-Control', 'no-store');
      // A new id over the cookie's old one: @fastify/session clears the old cookie and sets
      // the new one in two headers (their domains differ: undefined and null); one is meant.
      // A cookie whose id is not the request's session and gets no new one (it carried no
      // stored session: forged, expired, revoked; or the session was regenerated and the new
      // one holds nothing: Passport's logout): the plugin clears it, with neither Secure nor
      // HttpOnly (a `__Host-` clear that browsers refuse); express-session sends nothing
      // then, and neither does the kit. (SessionService.destroy's own clear leaves no session.)
      const keep =
        ours.length > 1
          ? ours[ours.length - 1]
          : request.session && ours.length === 1 && ours[0]!.startsWith(`${cookieName}=;`)
            ? undefined
            : ours[0];
      if (ours.length > 0 && keep !== ours[0]) {
        reply.removeHeader('set-cookie');
        const rest = list.filter((cookie) => cookie === keep || !ours.includes(cookie));
        if (rest.length > 0) reply.header('set-cookie', rest);
      }
      (next as Done)();
    });
    done();
  });
}

/** True when the session holds data of its own (not just its cookie). */
function hasData(session: object): boolean {
  return Object.keys(session).some(
    (key) => key !== 'cookie' && (session as Record<string, unknown>)[key] !== undefined,
  );
}

/**
 * Registers `@fastify/cookie` (unless the app did) and `@fastify/session` on the Fastify
 * instance, with the runtime's store and options and the kit's hooks around the plugin, so
 * every route has `request.session` as every Express route has `req.session`. Throws at
 * start-up when a package is missing or an option cannot work on Fastify.
 */
export async function registerFastifySessions(
  instance: FastifyInstanceLike,
  runtime: SessionRuntime,
): Promise<void> {
  const plugins = loadPlugins();
  const sessions = new FastifySessions(runtime);
  const options = pluginOptions(runtime, sessions);
  if (instance.hasPlugin('@fastify/session'))
    fail(
      "the app registered @fastify/session itself; remove that registration (SessionModule registers it with the kit's store).",
    );
  if (!instance.hasPlugin('@fastify/cookie')) await instance.register(plugins.cookie);
  await instance.register(sessions.beforePlugin);
  await instance.register(plugins.session, options);
  await instance.register(sessions.afterPlugin);
}
