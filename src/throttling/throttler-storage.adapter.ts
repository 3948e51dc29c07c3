import type { ThrottlerStorage } from '@nestjs/throttler';
import { hashTag } from '../redis/redis-keys';
import type { ThrottleStore } from './throttle-store.interface';

/** The record `@nestjs/throttler` expects (not exported from its root, so derived here). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const seconds = (ms: number): number => (Number.isFinite(ms) ? Math.ceil(ms / 1000) : 0);

/**
 * Answers `@nestjs/throttler`'s `ThrottlerStorage.increment` with one of our sliding-log
 * stores, with the stock storage's meaning: `totalHits` counted in the last `ttl`,
 * `timeToExpire` until the oldest of them leaves the window, `isBlocked` once the limit is
 * passed, and with a `blockDuration` a block of that length after which the count starts
 * afresh (`timeToBlockExpire`). Units follow `@nestjs/throttler`: ms in, seconds out.
 */
export async function incrementAsThrottlerStorage(
  store: ThrottleStore,
  key: string,
  ttlMs: number,
  limit: number,
  blockDurationMs: number,
  prefix: string,
): Promise<ThrottlerStorageRecord> {
  const { allowed, results } = await store.consume([
    { key: `${prefix}${hashTag(key)}`, limit, periodMs: ttlMs, cost: 1, blockMs: blockDurationMs },
  ]);
  const result = results[0]!;
  return {
    totalHits: allowed ? limit - result.remaining : limit + 1,
    timeToExpire: seconds(result.resetMs),
    isBlocked: !allowed,
    timeToBlockExpire: allowed ? 0 : seconds(result.retryAfterMs),
  };
}
