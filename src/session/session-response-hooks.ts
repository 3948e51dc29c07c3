import type { Request, Response } from 'express';
import { RequestSession, SESSION_CONTEXT } from './request-session';

type End = Response['end'];
type WriteHead = Response['writeHead'];
type Args = unknown[];

/** `req.sessionID` when it was set explicitly (store down, after `destroy`, another middleware). */
const EXPLICIT_SESSION_ID = Symbol('nestjs-llm-kit:session-id');

/** Express apps whose request and response prototypes carry the hooks already. */
const hookedPrototypes = new WeakSet<object>();

function sessionOf(req: Request | undefined): RequestSession | undefined {
  const session: unknown = req?.session;
  return session instanceof RequestSession ? session : undefined;
}

/** Runs the end-of-request write of the request's session, then the response's own `end`. */
function endWith(end: End, res: Response, req: Request | undefined, args: Args): Response {
  const finish = end as (...a: Args) => Response;
  const session = sessionOf(req);
  if (!session || session[SESSION_CONTEXT].ended) return finish.apply(res, args);
  const context = session[SESSION_CONTEXT];
  context.ended = true;
  const pending = context.host.commit(session);
  if (!pending) return finish.apply(res, args);
  void pending.then(() => finish.apply(res, args));
  return res;
}

/** Sets a new session's cookie, then lets the headers go out. */
function writeHeadWith(writeHead: WriteHead, res: Response, req: Request | undefined, args: Args) {
  const session = sessionOf(req);
  if (session?.[SESSION_CONTEXT].issued) session[SESSION_CONTEXT].host.issueCookie(session, res);
  return (writeHead as (...a: Args) => Response).apply(res, args);
}

/** True for the per-app `app.request` / `app.response` objects Express 5 puts under req/res. */
function isExpressAppPrototype(proto: object | null): proto is object {
  return proto !== null && Object.prototype.hasOwnProperty.call(proto, 'app');
}

/**
 * Puts the session hooks (`end`, `writeHead`, the `sessionID` accessor) on the app's own
 * request and response prototypes, once per app, and returns true; false when `req` and
 * `res` are not those of an Express app (or of a mounted sub-app, whose prototypes Express
 * swaps back when it passes a request on), for which `hookPerRequest` is the way.
 *
 * Why not wrap `res.end` on every request, as `express-session` does: Express 5 sets the
 * prototype of every request and response (`Object.setPrototypeOf`), which leaves each of
 * them with a hidden class of its own, so every property added to one goes through V8's
 * slow path (about 2 µs each here, measured). The prototypes are shared: hooking them
 * once costs nothing per request, and responses without a session pass straight through.
 */
export function hookAppPrototypes(req: Request, res: Response): boolean {
  const requestProto = Object.getPrototypeOf(req) as object | null;
  const responseProto = Object.getPrototypeOf(res) as object | null;
  if (hookedPrototypes.has(responseProto as object)) return true;
  if (!isExpressAppPrototype(requestProto) || !isExpressAppPrototype(responseProto)) return false;
  if ((req as Request & { app?: { parent?: unknown } }).app?.parent !== undefined) return false;
  const end = (responseProto as Response).end;
  const writeHead = (responseProto as Response).writeHead;
  Object.defineProperties(responseProto, {
    end: {
      configurable: true,
      writable: true,
      value: function (this: Response, ...args: Args) {
        return endWith(end, this, this.req, args);
      },
    },
    writeHead: {
      configurable: true,
      writable: true,
      value: function (this: Response, ...args: Args) {
        return writeHeadWith(writeHead, this, this.req, args);
      },
    },
  });
  Object.defineProperty(requestProto, 'sessionID', {
    configurable: true,
    get(this: Request & { [EXPLICIT_SESSION_ID]?: string }) {
      return this[EXPLICIT_SESSION_ID] ?? sessionOf(this)?.id;
    },
    set(this: Request & { [EXPLICIT_SESSION_ID]?: string }, id: string) {
      this[EXPLICIT_SESSION_ID] = id;
    },
  });
  hookedPrototypes.add(responseProto);
  return true;
}

/** The same hooks on one request and response (when the prototypes cannot carry them). */
export function hookPerRequest(req: Request, res: Response): void {
  const end = res.end;
  const writeHead = res.writeHead;
  res.end = function (this: Response, ...args: Args) {
    return endWith(end, this, req, args);
  } as End;
  res.writeHead = function (this: Response, ...args: Args) {
    return writeHeadWith(writeHead, this, req, args);
  } as WriteHead;
}
