import { createHash } from 'node:crypto';
import { digest } from '../redis/redis-keys';
import { CacheKeyError } from './caching.errors';

/**
 * Bumped whenever the canonical form changes, so old entries are never misread
 * (v2: the key carries a namespace, by default the route).
 *
 * @example
 * CACHE_KEY_VERSION // 'v2'
 */
export const CACHE_KEY_VERSION = 'v2';

/** Nesting deeper than this cannot be a real LLM request; such parameters are not cached. */
export const MAX_KEY_DEPTH = 64;

/**
 * Request fields that do not change what the model answers, left out of the key by default.
 * `user` and `metadata` are caller bookkeeping; `stream`/`stream_options` only change the
 * transport (a streamed entry can answer a JSON request and the reverse).
 *
 * @example
 * @CacheLLM({ ignore: [...DEFAULT_KEY_DENY_LIST, 'trace_id'] })
 */
export const DEFAULT_KEY_DENY_LIST: readonly string[] = [
  'user',
  'metadata',
  'stream',
  'stream_options',
  'request_id',
  'requestId',
  'idempotency_key',
  'store',
];

const ASCII = /^[\x20-\x7e]*$/;
const nfc = (value: string): string => (ASCII.test(value) ? value : value.normalize('NFC'));

function str(value: string): string {
  // NFC so that "é" typed as one code point or as e + accent is one key.
  return JSON.stringify(nfc(value));
}

function num(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  // JSON.stringify prints the shortest round-trip form; -0 becomes 0.
  return Object.is(value, -0) ? '0' : JSON.stringify(value);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Keys with their written form, sorted by their NFC form: sorting the raw keys would put "À"
 * typed as one code point and as A + accent at different places among the other keys, so the
 * NFC and NFD forms of one object got different keys (found by the property spec). Keys equal
 * once normalized fall back to the raw order, never to insertion order.
 */
function sortedKeys(keys: string[]): [string, string][] {
  // The usual case, every key ASCII (NFC already): a plain sort, no wrapper objects.
  if (keys.every((key) => ASCII.test(key)))
    return keys.sort(compare).map((key): [string, string] => [key, JSON.stringify(key)]);
  return keys
    .map((key) => ({ key, norm: nfc(key) }))
    .sort((a, b) => compare(a.norm, b.norm) || compare(a.key, b.key))
    .map(({ key }): [string, string] => [key, str(key)]);
}

/** Top-level field filter: `pick` keeps only these fields, else `deny` drops these. */
export interface KeyFieldFilter {
  pick?: readonly string[];
  deny?: readonly string[];
}

function write(value: unknown, depth: number, seen: Set<object>, filter?: KeyFieldFilter): string {
  switch (typeof value) {
    case 'string':
      return str(value);
    case 'number':
      return num(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
      return 'null';
    case 'function':
    case 'symbol':
      throw new CacheKeyError('Cache key parameters cannot contain functions or symbols');
  }
  if (value === null) return 'null';
  if (depth > MAX_KEY_DEPTH)
    throw new CacheKeyError(`Cache key parameters nest deeper than ${MAX_KEY_DEPTH} levels`);
  const object = value as object;
  if (seen.has(object)) throw new CacheKeyError('Cache key parameters contain a cycle');
  seen.add(object);
  let out: string;
  if (Buffer.isBuffer(object) || object instanceof Uint8Array) {
    // Images and files by content, not by identity.
    out = `"bin:${createHash('sha256').update(object).digest('hex')}"`;
  } else if (object instanceof Date) {
    out = JSON.stringify(object.toISOString());
  } else if (Array.isArray(object)) {
    out = '[';
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out += ',';
      out += write(object[i], depth + 1, seen);
    }
    out += ']';
  } else {
    // Own enumerable keys only: a "__proto__" key from JSON.parse is plain data here.
    const record = object as Record<string, unknown>;
    const keys = sortedKeys(
      filter?.pick ? filter.pick.filter((k) => Object.hasOwn(record, k)) : Object.keys(record),
    );
    const deny = filter?.pick ? undefined : filter?.deny;
    out = '{';
    let first = true;
    for (const [key, written] of keys) {
      const item = record[key];
      if (item === undefined || deny?.includes(key)) continue;
      if (!first) out += ',';
      first = false;
      out += `${written}:${write(item, depth + 1, seen)}`;
    }
    out += '}';
  }
  seen.delete(object);
  return out;
}

/**
 * The canonical JSON of a value: keys sorted at every depth, strings in Unicode NFC,
 * numbers in their shortest form, undefined fields dropped, binary data by its SHA-256.
 *
 * @example
 * canonicalJson({ b: 1, a: [2, 'é'] }) // '{"a":[2,"é"],"b":1}'
 */
export function canonicalJson(value: unknown, filter?: KeyFieldFilter): string {
  return write(value, 0, new Set(), filter);
}

/**
 * The parameters that make up the key: `pick` fields when given, else every field of
 * `params` but the deny-list.
 *
 * @example
 * keyParams({ model: 'gpt-4o', user: 'u1' }) // { model: 'gpt-4o' }
 */
export function keyParams(
  params: unknown,
  options: { pick?: readonly string[]; deny?: readonly string[] } = {},
): unknown {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return params;
  const record = params as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  if (options.pick) {
    for (const field of options.pick)
      if (Object.hasOwn(record, field)) picked[field] = record[field];
    return picked;
  }
  const deny = options.deny ?? DEFAULT_KEY_DENY_LIST;
  for (const field of Object.keys(record)) {
    if (!deny.includes(field)) {
      Object.defineProperty(picked, field, {
        value: record[field],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return picked;
}

/**
 * SHA-256 (hex, always 64 characters) of the key version, the namespace (`@CacheLLM`: the
 * route, e.g. `POST /llm/generate`, unless the route names one), the scope partition and
 * the canonical parameters (top-level fields filtered by `filter`, as `keyParams` does).
 * Nothing of the prompt can be read back from it.
 *
 * @example
 * cacheKeyHash({ model: 'gpt-4o', prompt: 'Hi' }, 'global') // '3f9a...'
 * cacheKeyHash(body, 'global', undefined, 'POST /translate') // another entry than /summarize's
 */
export function cacheKeyHash(
  params: unknown,
  partition: string,
  filter?: KeyFieldFilter,
  namespace = '',
): string {
  return digest(
    `${CACHE_KEY_VERSION}\n${JSON.stringify(namespace)}\n${partition}\n${canonicalJson(params, filter)}`,
  );
}
