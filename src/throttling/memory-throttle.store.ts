import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  incrementAsThrottlerStorage,
  type ThrottlerStorageRecord,
} from './throttler-storage.adapter';
import {
  leaseKeyOf,
  type CheckResult,
  type ConsumeResult,
  type SettleItem,
  type ThrottleCheck,
  type ThrottleStore,
} from './throttle-store.interface';

/** Float tolerance (ms), as in the Lua script: 7 x (3600000 / 7) is not over 3600000. */
const EPS = 0.001;

interface Lease {
  key: string;
  amount: number;
  intervalMs: number;
  expiresAt: number;
}

/**
 * The embedded store: the same GCRA as the Redis script, in this process. No timers: a TAT in
 * the past equals no entry, so a few stale entries are dropped on every call, and past
 * `maxKeys` the least recently updated entry goes. Leases are swept the same way, in
 * expiry order (they all share one lease TTL).
 *
 * @example
 * const store = new MemoryThrottleStore(10_000);
 * await store.consume([{ key: 'rl:{t}:llm', limit: 20, periodMs: 60_000, cost: 1 }]);
 */
export class MemoryThrottleStore implements ThrottleStore, ThrottlerStorage {
  private readonly tats = new Map<string, number>();
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Entries held (for tests of the memory bound). */
  get size(): number {
    return this.tats.size;
  }

  /**
   * `@nestjs/throttler`'s storage contract, so this store can back a plain `ThrottlerModule`.
   * `ttl` is in ms (as `@nestjs/throttler` passes it); `timeToExpire` comes back in seconds.
   */
  increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    return incrementAsThrottlerStorage(this, key, ttl, limit, 'rl:nest:');
  }

  consume(checks: ThrottleCheck[]): Promise<ConsumeResult> {
    return Promise.resolve(this.consumeSync(checks));
  }

  /** Synchronous form of `consume` (the memory store never waits). */
  consumeSync(checks: ThrottleCheck[]): ConsumeResult {
    const now = this.now();
    this.sweep(now);
    const tats = checks.map((c) => Math.max(this.tats.get(c.key) ?? 0, now));
    const news = checks.map((c, i) => tats[i]! + (c.cost * c.periodMs) / c.limit);
    const allowed = checks.every((c, i) => news[i]! - now <= c.periodMs + EPS);
    const results = checks.map((c, i): CheckResult => {
      const interval = c.periodMs / c.limit;
      const tat = allowed ? news[i]! : tats[i]!;
      if (allowed) {
        this.write(c.key, tat, now);
        if (c.lease)
          this.leases.set(`${leaseKeyOf(c.key)}|${c.lease.id}:${c.cost}`, {
            key: c.key,
            amount: c.cost,
            intervalMs: interval,
            expiresAt: now + c.lease.ttlMs,
          });
      }
      const over = news[i]! - now - c.periodMs;
      return {
        remaining: Math.max(0, Math.floor((c.periodMs + EPS - (tat - now)) / interval)),
        resetMs: Math.ceil(tat - now),
        retryAfterMs: over > EPS ? Math.ceil(over) : 0,
        passed: over <= EPS,
      };
    });
    return { allowed, results };
  }

  settle(items: SettleItem[]): Promise<void> {
    const now = this.now();
    this.sweep(now);
    for (const item of items) {
      let delta = item.actual - item.reserved;
      if (item.leaseId !== undefined) {
        const id = `${leaseKeyOf(item.key)}|${item.leaseId}:${item.reserved}`;
        if (!this.leases.delete(id)) delta = item.actual;
      }
      const tat =
        Math.max(this.tats.get(item.key) ?? 0, now) + (delta * item.periodMs) / item.limit;
      this.write(item.key, tat, now);
    }
    return Promise.resolve();
  }

  private write(key: string, tat: number, now: number): void {
    this.tats.delete(key);
    if (tat <= now) return;
    this.tats.set(key, tat);
    if (this.tats.size > this.maxKeys) this.tats.delete(this.tats.keys().next().value!);
  }

  private sweep(now: number): void {
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt > now) break;
      this.leases.delete(id);
      const tat = this.tats.get(lease.key);
      if (tat !== undefined) this.write(lease.key, tat - lease.amount * lease.intervalMs, now);
    }
    // Drop up to two stale entries from the least recently written end.
    let n = 0;
    for (const [key, tat] of this.tats) {
      if (n++ >= 2 || tat > now) break;
      this.tats.delete(key);
    }
    if (this.leases.size > this.maxKeys) this.leases.delete(this.leases.keys().next().value!);
  }
}
