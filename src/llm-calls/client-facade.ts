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
 * The SDKs' `APIPromise` shape over our promise: `withResponse()` resolves `{ data, response }`
 * (a synthetic 200 `Response`: a hit made no HTTP request; the SDKs' own stream helpers call
 * it), `asResponse()` is the raw upstream response and bypasses the cache.
 */
export function apiPromise<T>(
  result: Promise<T>,
  raw: () => unknown,
): Promise<T> & Required<WithResponse> {
  const promise = result as Promise<T> & Required<WithResponse>;
  promise.withResponse = async () => ({
    data: await result,
    response: new Response(null, { status: 200, headers: { 'x-llm-cache': 'kit' } }),
    request_id: null,
  });
  promise.asResponse = async () => {
    const call = raw() as WithResponse & Promise<unknown>;
    return call.asResponse ? call.asResponse() : call;
  };
  return promise;
}

/** Whether a params object asks for a stream. */
export const wantsStream = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
