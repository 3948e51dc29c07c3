import type { ThrottlerStorage } from '@nestjs/throttler';
import { hashTag } from '../redis/redis-keys';
import type { ThrottleStore } from './throttle-store.interface';

/** The record `@nestjs/throttler` expects (not exported from its root, so derived here). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Answers `@nestjs/throttler`'s `ThrottlerStorage.increment` with one of our GCRA stores, so
 * an app that keeps `ThrottlerModule` can still use our one-script Redis storage. Units
 * follow `@nestjs/throttler`: `ttl` in ms in, `timeToExpire` in seconds out. GCRA needs no
 * block: a rejected caller is blocked exactly until one request fits again.
 */
export async function incrementAsThrottlerStorage(
  store: ThrottleStore,
  key: string,
  ttlMs: number,
  limit: number,
  prefix: string,
): Promise<ThrottlerStorageRecord> {
  const { allowed, results } = await store.consume([
    { key: `${prefix}${hashTag(key)}`, limit, periodMs: ttlMs, cost: 1 },
  ]);
  const result = results[0]!;
  return {
    totalHits: allowed ? limit - result.remaining : limit + 1,
    timeToExpire: Math.ceil(result.resetMs / 1000),
    isBlocked: !allowed,
    timeToBlockExpire: Math.ceil(result.retryAfterMs / 1000),
  };
}
