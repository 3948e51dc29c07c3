import { createHash } from 'node:crypto';
import { CacheKeyError } from './caching.errors';

/** Bumped whenever the canonical form changes, so old entries are never misread. */
export const CACHE_KEY_VERSION = 'v1';

/** Nesting deeper than this cannot be a real LLM request; such parameters are not cached. */
export const MAX_KEY_DEPTH = 64;

/**
 * Request fields that do not change what the model answers, left out of the key by default.
 * `user` and `metadata` are caller bookkeeping; `stream`/`stream_options` only change the
 * transport (a streamed entry can answer a JSON request and the reverse).
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

function str(value: string): string {
  // NFC so that "é" typed as one code point or as e + accent is one key.
  return JSON.stringify(ASCII.test(value) ? value : value.normalize('NFC'));
}

function num(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  // JSON.stringify prints the shortest round-trip form; -0 becomes 0.
  return Object.is(value, -0) ? '0' : JSON.stringify(value);
}

function write(value: unknown, depth: number, out: string[], seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(str(value));
      return;
    case 'number':
      out.push(num(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'undefined':
      out.push('null');
      return;
    case 'function':
    case 'symbol':
      throw new CacheKeyError('Cache key parameters cannot contain functions or symbols');
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (depth > MAX_KEY_DEPTH)
    throw new CacheKeyError(`Cache key parameters nest deeper than ${MAX_KEY_DEPTH} levels`);
  const object = value as object;
  if (seen.has(object)) throw new CacheKeyError('Cache key parameters contain a cycle');
  seen.add(object);
  if (Buffer.isBuffer(object) || object instanceof Uint8Array) {
    // Images and files by content, not by identity.
    out.push(`"bin:${createHash('sha256').update(object).digest('hex')}"`);
  } else if (object instanceof Date) {
    out.push(JSON.stringify(object.toISOString()));
  } else if (Array.isArray(object)) {
    out.push('[');
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out.push(',');
      write(object[i], depth + 1, out, seen);
    }
    out.push(']');
  } else {
    // Own enumerable keys only: a "__proto__" key from JSON.parse is plain data here.
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    out.push('{');
    let first = true;
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(str(key), ':');
      write(item, depth + 1, out, seen);
    }
    out.push('}');
  }
  seen.delete(object);
}

/**
 * The canonical JSON of a value: keys sorted at every depth, strings in Unicode NFC,
 * numbers in their shortest form, undefined fields dropped, binary data by its SHA-256.
 *
 * @example
 * canonicalJson({ b: 1, a: [2, 'é'] }) // '{"a":[2,"é"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, 0, out, new Set());
  return out.join('');
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
 * SHA-256 (hex, always 64 characters) of the key version, the scope partition and the
 * canonical parameters. Nothing of the prompt can be read back from it.
 *
 * @example
 * cacheKeyHash({ model: 'gpt-4o', prompt: 'Hi' }, 'global') // '3f9a...'
 */
export function cacheKeyHash(params: unknown, partition: string): string {
  return createHash('sha256')
    .update(`${CACHE_KEY_VERSION}\n${partition}\n`)
    .update(canonicalJson(params))
    .digest('hex');
}
