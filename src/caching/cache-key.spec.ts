import fc from 'fast-check';
import { cacheKeyHash, canonicalJson, keyParams, MAX_KEY_DEPTH } from './cache-key';
import { CacheKeyError } from './caching.errors';

describe('cache key', () => {
  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('is the same for any key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(cacheKeyHash(reversed, 'p')).toBe(cacheKeyHash(record, 'p'));
      }),
      { numRuns: 100, seed: 0x2c4b },
    );
  });

  it('normalizes Unicode to NFC and numbers to their shortest form', () => {
    expect(canonicalJson({ s: 'e\u0301' })).toBe(canonicalJson({ s: '\u00e9' }));
    expect(canonicalJson([1.0, -0, 1e21, 0.1])).toBe('[1,0,1e+21,0.1]');
  });

  it('orders keys by their NFC form, so the NFD form of an object has the same key', () => {
    // Regression found by cache-key.property.spec.ts: "À" as one code point sorts after "B",
    // as A + combining grave before it; the raw sort gave the two forms different keys.
    const nfc = { '\u00c0': 0, B: null };
    const nfd = { 'A\u0300': 0, B: null };
    expect(canonicalJson(nfd)).toBe(canonicalJson(nfc));
    expect(cacheKeyHash({ p: nfd }, 'p')).toBe(cacheKeyHash({ p: nfc }, 'p'));
  });

  it('keeps a "__proto__" key as plain data and pollutes nothing', () => {
    const params = JSON.parse('{"__proto__":{"polluted":true},"model":"m"}') as object;
    expect(canonicalJson(keyParams(params))).toBe('{"__proto__":{"polluted":true},"model":"m"}');
    expect(cacheKeyHash(params, 'p')).not.toBe(cacheKeyHash({ model: 'm' }, 'p'));
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('drops the deny-list by default and keeps only `key` fields when given', () => {
    expect(keyParams({ model: 'm', user: 'u', metadata: {}, stream: true })).toEqual({
      model: 'm',
    });
    expect(keyParams({ model: 'm', prompt: 'p', seed: 1 }, { pick: ['prompt'] })).toEqual({
      prompt: 'p',
    });
  });

  it('filters top-level fields in the hash exactly as keyParams does', () => {
    const params = { model: 'm', user: 'u', messages: [{ user: 'kept when nested' }] };
    expect(cacheKeyHash(params, 'p', { deny: ['user'] })).toBe(
      cacheKeyHash(keyParams(params, { deny: ['user'] }), 'p'),
    );
    expect(cacheKeyHash(params, 'p', { pick: ['model'] })).toBe(cacheKeyHash({ model: 'm' }, 'p'));
  });

  it('keys binary content by its bytes', () => {
    expect(cacheKeyHash({ image: Buffer.from('a') }, 'p')).toBe(
      cacheKeyHash({ image: Buffer.from('a') }, 'p'),
    );
    expect(cacheKeyHash({ image: Buffer.from('a') }, 'p')).not.toBe(
      cacheKeyHash({ image: Buffer.from('b') }, 'p'),
    );
  });

  it('gives a 64-character hash that does not depend on the size of the prompt and differs by partition', () => {
    const huge = cacheKeyHash({ prompt: 'x'.repeat(1_000_000) }, 'p');
    expect(huge).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKeyHash({ prompt: 'x' }, 'a')).not.toBe(cacheKeyHash({ prompt: 'x' }, 'b'));
  });

  it('refuses parameters nested too deep, cycles and functions with CacheKeyError', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_KEY_DEPTH + 1; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(CacheKeyError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(CacheKeyError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(CacheKeyError);
  });
});
