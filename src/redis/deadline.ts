/** Raised when Redis does not answer one of the kit's calls within its bound. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  constructor(what: string, timeoutMs: number) {
    super(`Redis did not answer ${what} within ${timeoutMs} ms`);
  }
}

/**
 * `work`'s outcome, or a `RedisTimeoutError` once `timeoutMs` has passed (`failure` maps
 * either error to what the caller throws). This is the kit's
 * bound on a Redis reply: node-redis 5's own per-command `timeout` only bounds the wait to
 * be written, not the wait for the reply (a frozen server never fails a written command),
 * and costs an AbortSignal timer per command. A hand-made race, because it sits on hot paths:
 * `Promise.race` + `finally` cost two more promises.
 *
 * @example
 * const raw = await withDeadline(redis.get(key), 2000, 'a cache read');
 */
export function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  what: string,
  failure: (error: unknown) => unknown = (error) => error,
): Promise<T> {
  if (!(timeoutMs > 0)) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(failure(new RedisTimeoutError(what, timeoutMs))),
      timeoutMs,
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(failure(error));
      },
    );
  });
}
