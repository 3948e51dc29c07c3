import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';

/**
 * The kit's edge between its flows and the two HTTP platforms of Nest. Express hands the kit
 * Node's own request and response (extended); Fastify hands it its `request` and `reply`, which
 * keep Node's objects as `.raw`. The kit reads the platform request for what both platforms
 * give alike (`headers`, `ip`, `ips`, `body`, `method`, `url`, `user`, `session`) and works on
 * Node's objects for everything else (events, status, headers to send, writes), so the flows
 * have one copy and the platform is this file.
 */

/** Fastify's reply: Node's response as `.raw`, and `hijack()` to take the response over. */
interface FastifyReplyLike {
  raw: ServerResponse;
  hijack(): unknown;
}

function isFastifyReply(res: unknown): res is FastifyReplyLike {
  return (
    typeof res === 'object' &&
    res !== null &&
    typeof (res as Partial<FastifyReplyLike>).hijack === 'function' &&
    typeof (res as Partial<FastifyReplyLike>).raw === 'object'
  );
}

/** Node's request under the platform's: Fastify's `request.raw`, Express's `req` itself. */
export function rawRequest(req: Request): IncomingMessage {
  const raw = (req as Request & { raw?: IncomingMessage }).raw;
  return typeof raw === 'object' && raw !== null && typeof raw.on === 'function' ? raw : req;
}

/** Node's response under the platform's: Fastify's `reply.raw`, Express's `res` itself. */
export function rawResponse(res: unknown): ServerResponse {
  return isFastifyReply(res) ? res.raw : (res as ServerResponse);
}

/**
 * Node's response, taken over from the platform for a response the kit writes itself (a
 * replay, a stream): Fastify is told not to send (`reply.hijack()`); Express needs nothing.
 */
export function takeOverResponse(res: unknown): ServerResponse {
  if (!isFastifyReply(res)) return res as ServerResponse;
  res.hijack();
  return res.raw;
}

/** Where a request's Node response is kept when the platform request does not link to it. */
const RESPONSE = Symbol('nestjs-llm-kit.response');

/**
 * Node's response of a platform request, for code that only has the request (an LLM call made
 * in a handler): Express links it as `req.res`; a Fastify request gets it from
 * `aroundFastifyRequests`. Undefined for a request without one (a WebSocket handshake).
 */
export function responseOf(req: Request): ServerResponse | undefined {
  const linked = req as Partial<Request> & { [RESPONSE]?: ServerResponse };
  return linked.res ?? linked[RESPONSE];
}

/** A Nest HTTP adapter, as a module gets it from `HttpAdapterHost`. */
type HttpAdapterLike = { getType(): string; getInstance(): unknown } | undefined;

/** Fastify's refusals of a hook, plugin or route once its instance is ready. */
const REFUSED_AFTER_READY = new Set([
  'AVV_ERR_ROOT_PLG_BOOTED',
  'FST_ERR_INSTANCE_ALREADY_LISTENING',
]);

function refusedAfterReady(owner: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !REFUSED_AFTER_READY.has(code)) return error;
  return new Error(
    `${owner} on Fastify: the Fastify instance was already ready when app.init() ran, and Fastify takes ` +
      "no hook, plugin or route after ready() (nor Nest's routes). Call ready() after `await app.init()` " +
      '(app.listen() does both in that order); register your own plugins before it with ' +
      '`app.register(plugin)`, which may be awaited.',
    { cause: error },
  );
}

/**
 * On Fastify, runs `setUp` with the instance (to add hooks or plugins that apply to every
 * route) and returns its result; elsewhere returns undefined. Call it from a module's
 * `configure()`, which Nest runs in `app.init()` before it adds the routes. Fastify takes
 * nothing once its instance is ready, Nest's own routes included, so an app that awaited
 * `ready()` before `app.init()` cannot start: `owner` fails then with a message that says
 * what to do, in place of Fastify's bare refusal.
 */
export function setUpFastify<T>(
  httpAdapter: HttpAdapterLike,
  owner: string,
  setUp: (instance: unknown) => T,
): T | undefined {
  if (httpAdapter?.getType() !== 'fastify') return undefined;
  let result: T;
  try {
    result = setUp(httpAdapter.getInstance());
  } catch (error) {
    throw refusedAfterReady(owner, error);
  }
  if (typeof (result as Partial<PromiseLike<unknown>> | undefined)?.then !== 'function')
    return result;
  return Promise.resolve(result).catch((error: unknown) => {
    throw refusedAfterReady(owner, error);
  }) as T;
}

/** The part of Fastify's instance the kit hooks into. */
interface FastifyHooks {
  addHook(
    name: 'onRequest',
    hook: (request: Request, reply: FastifyReplyLike, done: () => void) => void,
  ): unknown;
}

/**
 * Runs `around(request, next)` for every request of a Fastify instance, in an `onRequest` hook
 * with Fastify's request (where the app's auth leaves `request.user`). On Express a Nest
 * middleware gets the platform request itself, while on Fastify it would get Node's (through
 * @fastify/middie). Call it through `setUpFastify`.
 */
export function aroundFastifyRequests(
  instance: unknown,
  around: (req: Request, next: () => void) => void,
): void {
  (instance as FastifyHooks).addHook('onRequest', (request, reply, done) => {
    (request as { [RESPONSE]?: ServerResponse })[RESPONSE] = reply.raw;
    around(request, done);
  });
}

/** Responses whose `ETag` a matching `If-None-Match` turns into a 304 on Fastify. */
const conditional = new WeakSet<ServerResponse>();

/**
 * Sends `etag` on Node's response; a GET or HEAD whose `If-None-Match` names it then gets a
 * 304 without a body. Express's `res.send` does that for every response; on Fastify the
 * `onSend` hook of `answerNotModified` does it for the responses given here.
 */
export function sendEtag(res: ServerResponse, etag: string): void {
  if (res.headersSent) return;
  res.setHeader('ETag', etag);
  conditional.add(res);
}

/** `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2), or is `*`. */
function etagMatches(ifNoneMatch: string | undefined, etag: unknown): boolean {
  if (!ifNoneMatch || typeof etag !== 'string') return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

/** The `onSend` hook of Fastify's instance. */
interface FastifySendHooks {
  addHook(
    name: 'onSend',
    hook: (
      request: { method: string; headers: Record<string, string | string[] | undefined> },
      reply: FastifyReplyLike & {
        statusCode: number;
        code(status: number): unknown;
        removeHeader(name: string): unknown;
      },
      payload: unknown,
      done: (error: null, payload: unknown) => void,
    ) => void,
  ): unknown;
}

const answering = new WeakSet<object>();

/**
 * On a Fastify instance (once per instance; Express's `res.send` does it itself): a 2xx GET or
 * HEAD answer sent with `sendEtag` becomes a 304 without a body when the request's
 * `If-None-Match` names its ETag. Call it through `setUpFastify`.
 */
export function answerNotModified(instance: unknown): void {
  const fastify = instance as FastifySendHooks;
  if (answering.has(fastify)) return;
  answering.add(fastify);
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const { raw } = reply;
    const fresh =
      conditional.has(raw) &&
      (request.method === 'GET' || request.method === 'HEAD') &&
      reply.statusCode >= 200 &&
      reply.statusCode < 300 &&
      !/no-cache/.test(String(request.headers['cache-control'] ?? '')) &&
      etagMatches(request.headers['if-none-match'] as string | undefined, raw.getHeader('etag'));
    if (!fresh) return done(null, payload);
    reply.code(304);
    // What Express's 304 leaves out: the headers of a body it does not send.
    for (const name of ['content-type', 'content-length', 'transfer-encoding']) {
      reply.removeHeader(name);
      raw.removeHeader(name);
    }
    done(null, null);
  });
}

/** The kit's work at the end of each response, run by one 'close' listener of its own. */
const closing = new WeakMap<ServerResponse, (() => void)[]>();

/**
 * Runs `run` once Node's response closes (as `res.once('close', run)`), on a single listener
 * for all of the kit's work: Nest and Fastify add several of their own to a Fastify response
 * (each `await` of the thenable reply adds one), and Node warns past ten.
 */
export function onResponseClose(res: ServerResponse, run: () => void): void {
  let runs = closing.get(res);
  if (!runs) {
    const list: (() => void)[] = [];
    closing.set(res, list);
    res.once('close', () => {
      closing.delete(res);
      for (const each of list) each();
    });
    runs = list;
  }
  runs.push(run);
}

/**
 * The id of the request's session under either platform's session plugin: `req.sessionID`
 * (express-session), `request.session.sessionId` (@fastify/session); undefined without one.
 */
export function requestSessionId(req: Request): string | undefined {
  const expressId: unknown = (req as Partial<Request>).sessionID;
  if (typeof expressId === 'string') return expressId;
  const session = (req as { session?: { sessionId?: unknown } | null }).session;
  const fastifyId = session?.sessionId;
  return typeof fastifyId === 'string' ? fastifyId : undefined;
}

/**
 * Whether the session plugin sends a Secure cookie on this request: express-session's own test
 * (`issecure`, with its `proxy` option) on Express; on Fastify `request.protocol` (which follows
 * the adapter's `trustProxy`), as `@fastify/session` tests it.
 */
export function isSecureRequest(req: Request, proxy: boolean | undefined): boolean {
  if (rawRequest(req) !== req) return (req as { protocol?: unknown }).protocol === 'https';
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = String(req.headers['x-forwarded-proto'] ?? '');
  return header.split(',')[0]!.trim().toLowerCase() === 'https';
}
