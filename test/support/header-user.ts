import type { INestApplication } from '@nestjs/common';
import { testPlatform } from './platform';

/** What a stand-in auth sets on the request, read from the request's headers. */
export type HeaderAuth = (req: {
  headers: Record<string, string | string[] | undefined>;
}) => Record<string, unknown>;

/**
 * A stand-in for the app's auth on the run's platform: the fields `auth` returns are set on
 * the platform's request (`req.user`, ...) before guards run. On Express a middleware (as
 * Passport's); on Fastify a `preHandler` hook, the last point an auth plugin can set
 * `request.user` (`@fastify/passport` does in `preValidation`), so the kit must read it there.
 * Call before `init()`.
 */
export function authFromHeaders(app: INestApplication, auth: HeaderAuth): void {
  if (testPlatform() === 'fastify') {
    const fastify = app.getHttpAdapter().getInstance() as {
      addHook(
        name: 'preHandler',
        hook: (request: Parameters<HeaderAuth>[0], reply: unknown, done: () => void) => void,
      ): unknown;
    };
    fastify.addHook('preHandler', (request, _reply, done) => {
      Object.assign(request, auth(request));
      done();
    });
    return;
  }
  app.use((req: Parameters<HeaderAuth>[0], _res: unknown, next: () => void) => {
    Object.assign(req, auth(req));
    next();
  });
}

/** `req.user = { id }` from the `header` request header, when sent. */
export const userFromHeader =
  (header: string): HeaderAuth =>
  (req) => {
    const id = req.headers[header];
    return typeof id === 'string' ? { user: { id } } : {};
  };
