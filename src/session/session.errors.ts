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
