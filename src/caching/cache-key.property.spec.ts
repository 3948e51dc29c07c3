import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { cacheKeyHash, DEFAULT_KEY_DENY_LIST, MAX_KEY_DEPTH } from './cache-key';
import { CacheKeyError } from './caching.errors';

// Bounded, reproducible runs: a failure prints the seed and the shrunk counterexample; rerun
// one with `fc.assert(prop, { seed, path })`.
const RUNS = { numRuns: 200, seed: 0x11a7 };
const DENY = { deny: DEFAULT_KEY_DENY_LIST };
// What the interceptor and LlmCacheService do by default: every field but the deny-list.
const key = (params: unknown, partition = 'p') => cacheKeyHash(params, partition, DENY);

/** Any text, Unicode included (accents, combining marks, emoji, lone surrogates). */
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
/** JSON values whose strings (values and keys) may be any Unicode. */
const json = fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' });

/** The same value with the keys of every object in another order (chosen by `order`). */
function reorder(value: unknown, order: number[]): unknown {
  if (Array.isArray(value)) return value.map((item) => reorder(item, order));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const shuffled = entries
    // Ties in `order` fall back to the reverse of the original order.
    .map((entry, i) => ({ entry, rank: (order[i % order.length] ?? 0) * 1e6 - i }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ entry: [k, v] }) => [k, reorder(v, order)] as const);
  // defineProperty keeps a "__proto__" key as data, as JSON.parse does.
  const out = {};
  for (const [k, v] of shuffled)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** Every string of a value (object keys too) put in a Unicode normalization form. */
function normalizeAll(value: unknown, form: 'NFC' | 'NFD'): unknown {
  if (typeof value === 'string') return value.normalize(form);
  if (Array.isArray(value)) return value.map((item) => normalizeAll(item, form));
  if (typeof value !== 'object' || value === null) return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k.normalize(form), {
      value: normalizeAll(v, form),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * The oracle, written apart from the canonicalizer: two JSON values mean the same request when
 * they are deeply equal once strings are NFC and -0 is 0 (key order never matters to it).
 */
function sameMeaning(a: unknown, b: unknown): boolean {
  const plain = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(normalizeAll(value, 'NFC')), (_, v: unknown) =>
      Object.is(v, -0) ? 0 : v,
    );
  return isDeepStrictEqual(plain(a), plain(b));
}

/**
 * Edits a value in place somewhere along `path` (each number picks a child): sets a leaf,
 * adds a field, removes one, or appends a character to a string.
 */
function applyEdit(root: Record<string, unknown>, path: number[], edit: string, value: unknown) {
  let parent: Record<string, unknown> | unknown[] = root;
  let at: string | number = Object.keys(root)[path[0]! % Object.keys(root).length]!;
  for (const step of path.slice(1)) {
    const child: unknown = (parent as Record<string | number, unknown>)[at];
    if (typeof child !== 'object' || child === null) break;
    const keys = Array.isArray(child) ? child.map((_, i) => i) : Object.keys(child);
    if (keys.length === 0) break;
    parent = child as Record<string, unknown> | unknown[];
    at = keys[step % keys.length]!;
  }
  const target = parent as Record<string | number, unknown>;
  if (edit === 'remove' && !Array.isArray(parent)) delete target[at];
  else if (edit === 'add' && !Array.isArray(parent)) target[`${String(at)}_added`] = value;
  else if (edit === 'append' && typeof target[at] === 'string') target[at] += 'x';
  else target[at] = value;
}

/** Keys that would name `Object.prototype` members or pollute it if handled carelessly. */
const trickyKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
);

/** JSON text with tricky keys at any depth, parsed the way a body parser would. */
const parsedJson: fc.Arbitrary<unknown> = fc
  .letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      json,
      fc.array(fc.tuple(fc.oneof(trickyKey, fc.string()), tie('node')), { maxLength: 5 }),
    ),
  }))
  .node.map((node) => JSON.parse(toJsonText(node)) as unknown);

function toJsonText(node: unknown): string {
  // Arrays of [key, value] pairs become objects, written by hand so "__proto__" stays a key.
  if (Array.isArray(node) && node.every((n) => Array.isArray(n) && n.length === 2)) {
    const pairs = node as [string, unknown][];
    return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  return JSON.stringify(node) ?? 'null';
}

/** An LLM request with fields that matter (model, messages...) and some that do not. */
const semanticFields = fc.record(
  {
    model: fc.string({ minLength: 1 }),
    messages: fc.array(fc.record({ role: fc.string(), content: text }), { maxLength: 4 }),
    prompt: text,
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    max_tokens: fc.integer({ min: 1, max: 100_000 }),
    tools: json,
    seed: fc.integer(),
  },
  { requiredKeys: ['model'] },
);
const nonSemanticFields = fc.record(
  Object.fromEntries(DEFAULT_KEY_DENY_LIST.map((field) => [field, json])),
  { requiredKeys: [] },
);

describe('cache key (property-based)', () => {
  it('gives the same key for equal JSON in any key order, at every depth', () => {
    fc.assert(
      fc.property(json, fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (value, order) => {
        expect(key(reorder(value, order))).toBe(key(value));
      }),
      RUNS,
    );
  });

  it('gives another key when any semantic field changes (and the same key when it does not)', () => {
    fc.assert(
      fc.property(
        semanticFields,
        fc.constantFrom('model', 'messages', 'prompt', 'temperature', 'max_tokens', 'tools', 'x'),
        json,
        (request, field, value) => {
          const changed = { ...request, [field]: value };
          expect(key(changed) === key(request)).toBe(sameMeaning(changed, request));
        },
      ),
      RUNS,
    );
  });

  it('gives another key when anything changes at any depth, by an independent oracle', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(key({ p: a }) === key({ p: b })).toBe(sameMeaning(a, b));
      }),
      RUNS,
    );
  });

  it('gives another key for any small edit deep inside a request (leaf, added or removed field)', () => {
    fc.assert(
      fc.property(
        semanticFields,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('set', 'add', 'remove', 'append'),
        json,
        (request, path, edit, value) => {
          const edited = structuredClone(request) as Record<string, unknown>;
          applyEdit(edited, path, edit, value);
          expect(key(edited) === key(request)).toBe(sameMeaning(edited, request));
        },
      ),
      RUNS,
    );
  });

  it('gives the same key when only non-semantic fields (user, metadata, stream...) change', () => {
    fc.assert(
      fc.property(semanticFields, nonSemanticFields, nonSemanticFields, (request, a, b) => {
        expect(key({ ...request, ...a })).toBe(key(request));
        expect(key({ ...a, ...request, ...b })).toBe(key({ ...b, ...request }));
      }),
      RUNS,
    );
  });

  it('gives the same key for the NFC and NFD forms of the same text, keys included', () => {
    fc.assert(
      fc.property(json, (value) => {
        const nfc = normalizeAll(value, 'NFC');
        const nfd = normalizeAll(value, 'NFD');
        // Two keys that only differ by normalization would merge into one: not the same value.
        fc.pre(isDeepStrictEqual(normalizeAll(nfd, 'NFC'), nfc));
        expect(key(nfd)).toBe(key(nfc));
      }),
      RUNS,
    );
  });

  it('never throws on any parsed JSON ("__proto__", "constructor"...) and pollutes nothing', () => {
    fc.assert(
      fc.property(parsedJson, fc.string(), (value, partition) => {
        expect(key(value, partition)).toMatch(/^[0-9a-f]{64}$/);
        expect(key({ model: 'm', input: value })).toMatch(/^[0-9a-f]{64}$/);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype.toString.call({})).toBe('[object Object]');
      }),
      RUNS,
    );
  });

  it('throws only CacheKeyError (no stack overflow) for JSON nested deeper than the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_KEY_DEPTH + 2, max: 20_000 }),
        fc.boolean(),
        (depth, objects) => {
          const open = objects ? '{"a":' : '[';
          const close = objects ? '}' : ']';
          const value: unknown = JSON.parse(`${open.repeat(depth)}1${close.repeat(depth)}`);
          expect(() => key(value)).toThrow(CacheKeyError);
        },
      ),
      { ...RUNS, numRuns: 50 },
    );
    let atLimit: unknown = 1;
    for (let i = 0; i < MAX_KEY_DEPTH; i++) atLimit = [atLimit];
    expect(key(atLimit)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('has a fixed length and never holds the prompt text, however large the prompt', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 16, unit: 'grapheme' }),
          fc.stringMatching(/^[0-9a-f]{16,40}$/), // text that looks like a hash
          fc.integer({ min: 1, max: 2_000_000 }).map((n) => 'x'.repeat(n)),
        ),
        (prompt) => {
          const hash = key({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] });
          expect(hash).toMatch(/^[0-9a-f]{64}$/);
          expect(hash).not.toContain(prompt);
        },
      ),
      { ...RUNS, numRuns: 100 },
    );
  });
});
