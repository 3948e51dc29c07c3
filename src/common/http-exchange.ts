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
