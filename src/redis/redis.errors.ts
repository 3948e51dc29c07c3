/** Raised at start-up when the first connection to Redis cannot be made in time. */
export class RedisConnectError extends Error {
  override readonly name = 'RedisConnectError';
  constructor(target: string, timeoutMs: number, cause?: unknown) {
    const why = cause instanceof Error ? ` (${cause.message})` : '';
    super(
      `Could not connect to Redis at ${target} within ${timeoutMs} ms${why}. ` +
        'Check that redis-server is running and reachable, or fix the URL passed to RedisModule.forRoot().',
      { cause },
    );
  }
}

/** Raised when `RedisModule.forRoot()` gets no connection target, or more than one. */
export class RedisOptionsError extends Error {
  override readonly name = 'RedisOptionsError';
}
