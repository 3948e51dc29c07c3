import type { Request, RequestHandler, Response } from 'express';
import type { SessionData } from 'express-session';
import type { RedisConnection } from '../redis/redis.types';
import type { SessionModuleOptions } from './session-module-options.interface';
import { resolveSessionOptions } from './session-options.resolver';
import { runtimeOf, SessionRuntime } from './session-runtime';
import { SessionService } from './session.service';

function serviceFor(req: Request | undefined): SessionService {
  const runtime = req && runtimeOf(req);
  if (!runtime)
    throw new Error(
      'No session middleware ran on this request: add SessionModule or sessionMiddleware().',
    );
  return new SessionService(runtime);
}

/**
 * The seed's helper: starts a session (fresh id) for the response's request, returns its id.
 *
 * @example
 * const id = await createSession(res, { userId: user.id });
 */
export function createSession(
  res: Response,
  data: Partial<SessionData> & Record<string, unknown>,
): Promise<string> {
  // Express's response has its request as `req`, Fastify's reply as `request`.
  const req = res.req ?? (res as unknown as { request?: Request }).request;
  return serviceFor(req).create(req!, data);
}

/**
 * The seed's helper: logs out (store delete, cookie cleared, `Clear-Site-Data`).
 *
 * @example
 * await destroySession(req, res);
 */
export function destroySession(req: Request, res: Response): Promise<void> {
  return serviceFor(req).destroy(req, res);
}

/**
 * The session middleware for a plain Express app (SessionModule applies it by itself);
 * pass the shared node-redis client, or nothing for the in-process store. Nothing it starts
 * keeps the process alive; `close()` writes the session counters still pending (call it
 * when the server closes, before you close the Redis client).
 *
 * @example
 * const sessions = sessionMiddleware({ secret: process.env.SESSION_SECRET! }, redisClient);
 * app.use(sessions);
 * server.on('close', () => void sessions.close().then(() => redisClient.close()));
 */
export function sessionMiddleware(
  options: SessionModuleOptions,
  redis?: RedisConnection,
): RequestHandler & { close(): Promise<void> } {
  const runtime = new SessionRuntime(resolveSessionOptions(options), redis);
  return Object.assign(runtime.handler, { close: () => runtime.close() });
}
