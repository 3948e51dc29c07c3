import { parseCacheControl } from './cache-control';
import { resolveCachingOptions } from './caching-options';
import { CachingOptionsError } from './caching.errors';

describe('resolveCachingOptions', () => {
  it('fills the defaults: 1 hour, llm:cache, scope auto, a random secret without Redis', () => {
    const options = resolveCachingOptions({}, false);
    expect(options).toMatchObject({
      enabled: true,
      ttlMs: 3_600_000,
      keyPrefix: 'llm:cache',
      scope: 'auto',
      l1: { maxEntries: 1000 },
    });
    expect(options.partitionSecret).toHaveLength(64);
  });

  it.each([
    [{}, true, /partitionSecret.*required with Redis/],
    [{ partitionSecret: 'short' }, false, /at least 32 characters/],
    [{ ttlMs: -1 }, false, /"ttlMs" must be a positive number/],
    [{ keyPrefix: 'has space' }, false, /"keyPrefix"/],
    [{ scope: 'users' as never }, false, /"scope"/],
  ])('refuses %j (redis: %s) with a message that says how to fix it', (options, redis, message) => {
    expect(() => resolveCachingOptions(options, redis)).toThrow(CachingOptionsError);
    expect(() => resolveCachingOptions(options, redis)).toThrow(message);
  });
});

describe('parseCacheControl', () => {
  it.each([
    ['no-cache', { noCache: true, noStore: false }],
    ['No-Store', { noCache: false, noStore: true }],
    ['max-age=60, no-cache', { noCache: true, noStore: false, maxAgeS: 60 }],
    ['max-age=abc', { noCache: false, noStore: false }],
  ])('%s', (header, expected) => {
    expect(parseCacheControl(header)).toEqual(expected);
  });
});
