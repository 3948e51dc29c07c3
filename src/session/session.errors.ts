/**
 * A `SessionModule` option that would run insecurely or not at all; thrown at start-up,
 * its message says how to fix it.
 *
 * @example
 * SessionModule.forRoot({ secret: 'short' }) // throws SessionOptionsError at start-up
 */
export class SessionOptionsError extends Error {
  override readonly name = 'SessionOptionsError';
}

/**
 * The session store did not answer (Redis down or slower than `storeTimeoutMs`). The
 * module's exception filter answers 503.
 *
 * @example
 * if (error instanceof SessionUnavailableError) res.status(503);
 */
export class SessionUnavailableError extends Error {
  override readonly name = 'SessionUnavailableError';
  constructor(cause?: unknown) {
    super('The session store is unavailable; try again shortly.', { cause });
  }
}

/**
 * The request has no stored session (never logged in, logged out, revoked or expired).
 * The module's exception filter answers 401.
 *
 * @example
 * await sessions.update(req, { theme: 'dark' }); // throws SessionNotFoundError after logout
 */
export class SessionNotFoundError extends Error {
  override readonly name = 'SessionNotFoundError';
  constructor() {
    super('No session: log in first.');
  }
}

/** A failure of the kit's store: the module's policy answers it, not the app's error handlers. */
export function isKitStoreError(error: unknown): boolean {
  return error instanceof SessionUnavailableError || error instanceof SessionNotFoundError;
}

/**
 * Logged (once per interval) when a new session is not stored because its cookie is Secure and
 * the request came over plain http: the session plugin sends no cookie then, on either platform.
 */
export const INSECURE_SESSION_NOT_STORED =
  'SessionModule: a new session was not stored because its cookie is Secure and the request is not ' +
  "(plain http): the session plugin sends no cookie then. Behind a TLS proxy set Express's 'trust proxy' " +
  "(app.set('trust proxy', 1)) or the session option proxy: true (on Fastify: new FastifyAdapter({ trustProxy })); " +
  "in tests over http use cookie: { secure: 'auto' }.";
