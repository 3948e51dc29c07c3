import type { ThrottlerStorage } from '@nestjs/throttler';
import { LRUCache } from 'lru-cache';
import {
  incrementAsThrottlerStorage,
  type ThrottlerStorageRecord,
} from './throttler-storage.adapter';
import { MAX_ENTRIES } from './sliding-log.lua';
import type {
  CheckResult,
  ConsumeResult,
  SettleItem,
  ThrottleCheck,
  ThrottleStore,
} from './throttle-store.interface';

/** One key's log: admission times (ms, oldest first) and amounts; `expiresAt` drops it. */
interface Log {
  block: number;
  t: number[];
  a: number[];
  expiresAt: number;
}

interface Lease {
  key: string;
  amount: number;
  at: number;
  periodMs: number;
  expiresAt: number;
}

/**
 * The embedded store: the same sliding log as the Redis script (sliding-log.lua.ts), step for
 * step, in this process. No timers: a few stale logs are dropped on every call, and past
 * `maxKeys` the least recently written log goes (`lru-cache`, read with `peek` so only a write
 * counts as use). Leases are swept the same way.
 *
 * @example
 * const store = new MemoryThrottleStore(10_000);
 * await store.consume([{ key: 'rl:{t}:llm', limit: 20, periodMs: 60_000, cost: 1 }]);
 */
export class MemoryThrottleStore implements ThrottleStore, ThrottlerStorage {
  private readonly logs: LRUCache<string, Log>;
  private readonly leases: LRUCache<string, Lease>;

  constructor(
    maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.logs = new LRUCache({ max: maxKeys });
    this.leases = new LRUCache({ max: maxKeys });
  }

  /** Logs held (for tests of the memory bound). */
  get size(): number {
    return this.logs.size;
  }

  /**
   * `@nestjs/throttler`'s storage contract, so this store can back a plain `ThrottlerModule`.
   * `ttl` and `blockDuration` in ms (as `@nestjs/throttler` passes them); times come back in seconds.
   */
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration = 0,
  ): Promise<ThrottlerStorageRecord> {
    return incrementAsThrottlerStorage(this, key, ttl, limit, blockDuration, 'rl:nest:');
  }

  consume(checks: ThrottleCheck[]): Promise<ConsumeResult> {
    return Promise.resolve(this.consumeSync(checks));
  }

  /** Synchronous form of `consume` (the memory store never waits). */
  consumeSync(checks: ThrottleCheck[]): ConsumeResult {
    const now = this.now();
    this.sweep(now);
    const logs = checks.map((c) => this.load(c.key, c.periodMs, now));
    const retries = checks.map((c, i) => retryOf(logs[i]!, c, now));
    const allowed = retries.every((r) => r === 0);
    const results = checks.map((c, i): CheckResult => {
      const log = logs[i]!;
      let retry = retries[i]!;
      if (allowed) {
        add(log, c.cost, now, c.periodMs);
        if (c.lease)
          this.leases.set(`${c.key}|${c.lease.id}`, {
            key: c.key,
            amount: c.cost,
            at: now,
            periodMs: c.periodMs,
            expiresAt: now + c.lease.ttlMs,
          });
      } else if (retry !== 0 && c.blockMs && log.block <= now) {
        log.block = now + c.blockMs;
        retry = c.blockMs;
      }
      this.save(c.key, log, c.periodMs, now);
      const reset = log.t.length > 0 ? Math.ceil(log.t[0]! + c.periodMs - now) : 0;
      return {
        remaining: log.block > now ? 0 : Math.max(0, c.limit - sum(log)),
        resetMs: reset,
        retryAfterMs: retry,
        passed: retry === 0,
        atMs: now,
      };
    });
    return { allowed, results };
  }

  settle(items: SettleItem[]): Promise<void> {
    const now = this.now();
    this.sweep(now);
    for (const { charge, actual } of items) {
      const { key, periodMs, amount: reserved } = charge;
      const log = this.load(key, periodMs, now);
      if (charge.leaseId === undefined) {
        let at = charge.atMs;
        if (at === 0 && log.t.length > 0) at = log.t[log.t.length - 1]!;
        if (actual > reserved) add(log, actual - reserved, now, periodMs);
        else refund(log, at, reserved - actual, periodMs, now);
      } else {
        const id = `${key}|${charge.leaseId}`;
        const lease = this.leases.peek(id);
        if (lease && lease.expiresAt > now) {
          this.leases.delete(id);
          const at = lease.at;
          if (at > now - periodMs) {
            refund(log, at, reserved, periodMs, now);
            const j = log.t.findIndex((t) => t >= at);
            if (j >= 0) log.a[j]! += actual;
            else add(log, actual, now, periodMs);
          } else if (actual > reserved) add(log, actual - reserved, now, periodMs);
        } else {
          if (lease) this.expire(id, lease, now);
          add(log, actual, now, periodMs);
        }
      }
      this.save(key, log, periodMs, now);
    }
    return Promise.resolve();
  }

  private load(key: string, periodMs: number, now: number): Log {
    const log = this.logs.peek(key);
    if (!log) return { block: 0, t: [], a: [], expiresAt: 0 };
    if (log.block > 0 && log.block <= now) return { block: 0, t: [], a: [], expiresAt: 0 };
    let drop = 0;
    while (drop < log.t.length && log.t[drop]! <= now - periodMs) drop++;
    if (drop > 0) {
      log.t.splice(0, drop);
      log.a.splice(0, drop);
    }
    return log;
  }

  private save(key: string, log: Log, periodMs: number, now: number): void {
    const n = log.t.length;
    let expires = log.block;
    if (n > 0 && log.t[n - 1]! + periodMs > expires) expires = log.t[n - 1]! + periodMs;
    this.logs.delete(key);
    if (expires <= now) return;
    log.expiresAt = expires;
    this.logs.set(key, log);
  }

  private expire(id: string, lease: Lease, now: number): void {
    this.leases.delete(id);
    const log = this.logs.peek(lease.key);
    if (log) refund(log, lease.at, lease.amount, lease.periodMs, now);
  }

  private sweep(now: number): void {
    // Leases share one TTL per module, so insertion order is expiry order.
    const expired: [string, Lease][] = [];
    for (const id of this.leases.rkeys()) {
      const lease = this.leases.peek(id)!;
      if (lease.expiresAt > now) break;
      expired.push([id, lease]);
    }
    for (const [id, lease] of expired) this.expire(id, lease, now);
    // Drop up to two stale logs from the least recently written end.
    const stale: string[] = [];
    for (const key of this.logs.rkeys()) {
      if (stale.length >= 2 || this.logs.peek(key)!.expiresAt > now) break;
      stale.push(key);
    }
    for (const key of stale) this.logs.delete(key);
  }
}

const sum = (log: Log): number => {
  let u = 0;
  for (const a of log.a) u += a;
  return u;
};

/** 0 when `c` fits now, else the wait until it does (Infinity: never). */
function retryOf(log: Log, c: ThrottleCheck, now: number): number {
  if (log.block > now) return log.block - now;
  if (c.cost > c.limit) return Infinity;
  const need = sum(log) + c.cost - c.limit;
  if (need <= 0) return 0;
  let freed = 0;
  for (let j = 0; j < log.t.length; j++) {
    freed += log.a[j]!;
    if (freed >= need) return Math.ceil(log.t[j]! + c.periodMs - now);
  }
  return Infinity;
}

function add(log: Log, amount: number, now: number, periodMs: number): void {
  if (amount <= 0) return;
  const n = log.t.length;
  const w = periodMs / MAX_ENTRIES;
  if (n > 0 && (log.t[n - 1]! >= now || Math.floor(log.t[n - 1]! / w) === Math.floor(now / w))) {
    log.a[n - 1]! += amount;
    if (now > log.t[n - 1]!) log.t[n - 1] = now;
    return;
  }
  log.t.push(now);
  log.a.push(amount);
  if (n + 1 > MAX_ENTRIES + 1) {
    let best = 0;
    let gap = Infinity;
    for (let i = 0; i < n; i++)
      if (log.t[i + 1]! - log.t[i]! < gap) {
        best = i;
        gap = log.t[i + 1]! - log.t[i]!;
      }
    log.a[best + 1]! += log.a[best]!;
    log.t.splice(best, 1);
    log.a.splice(best, 1);
  }
}

function refund(log: Log, at: number, amount: number, periodMs: number, now: number): void {
  if (at <= now - periodMs) return;
  const i = log.t.findIndex((t) => t >= at);
  if (i < 0) return;
  log.a[i]! -= amount;
  if (log.a[i]! <= 0) {
    log.t.splice(i, 1);
    log.a.splice(i, 1);
  }
}
