import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A view of an SDK object with some members replaced: reads of other members go to the
 * object itself (methods bound to it, so private fields keep working), so the wrapped client
 * keeps its type and everything the kit does not intercept.
 */
export function facade<T extends object>(target: T, own: Record<string, unknown>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, prop) {
      if (typeof prop === 'string' && Object.hasOwn(own, prop)) return own[prop];
      const value: unknown = Reflect.get(object, prop, object);
      if (typeof value !== 'function') return value;
      let method = bound.get(prop);
      if (method === undefined) {
        method = (value as (...args: unknown[]) => unknown).bind(object);
        bound.set(prop, method);
      }
      return method;
    },
  });
}

type Method = (body: unknown, options?: unknown) => unknown;
type WithResponse = { withResponse?: () => Promise<unknown>; asResponse?: () => Promise<unknown> };

/** The member `name` of an SDK resource as a method, or a TypeError naming what is missing. */
export function methodOf(resource: unknown, name: string, where: string): Method {
  const method = (resource as Record<string, unknown> | undefined)?.[name];
  if (typeof method !== 'function')
    throw new TypeError(`${where}: the client has no ${name}() here; is it the right SDK client?`);
  return (method as Method).bind(resource);
}

/**
 * The SDKs' `APIPromise` shape over a cached call, started only when read (as the SDKs
 * parse only when read): `then`/`await` and `withResponse()` run `call` once, resolving
 * `{ data, response }` with a synthetic 200 `Response` (a hit made no HTTP request; the SDKs'
 * own stream helpers call it); `asResponse()` is the raw upstream response and bypasses the
 * cache, so it makes one request and leaves no cached call behind to fail unobserved.
 */
class CallPromise<T> extends Promise<T> implements Required<WithResponse> {
  private started?: Promise<T>;
  private readonly call: () => Promise<T>;

  constructor(
    call: () => Promise<T>,
    private readonly raw: () => unknown,
  ) {
    // Resolved at once and never read: then/catch/finally read `result()` instead.
    super((resolve) => resolve(undefined as T));
    // Run in the async context of the create() call (its request or runAs identity), even
    // when it is awaited elsewhere.
    this.call = AsyncLocalStorage.bind(call);
  }

  // Derived promises (`.then(...)` of a result) are plain promises.
  static override get [Symbol.species]() {
    return Promise;
  }

  private result(): Promise<T> {
    return (this.started ??= this.call());
  }

  override then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onfulfilled, onrejected);
  }

  override catch<B = never>(
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<T | B> {
    return this.result().catch(onrejected);
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.result().finally(onfinally);
  }

  async withResponse() {
    return {
      data: await this.result(),
      response: new Response(null, { status: 200, headers: { 'x-llm-cache': 'kit' } }),
      request_id: null,
    };
  }

  async asResponse() {
    const call = this.raw() as WithResponse & Promise<unknown>;
    return call.asResponse ? call.asResponse() : call;
  }
}

/** `call` as an SDK `APIPromise` (see `CallPromise`); `raw` is the upstream request itself. */
export function apiPromise<T>(
  call: () => Promise<T>,
  raw: () => unknown,
): Promise<T> & Required<WithResponse> {
  return new CallPromise(call, raw);
}

/** Whether a params object asks for a stream. */
export const wantsStream = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
