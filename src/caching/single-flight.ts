import { randomUUID } from 'node:crypto';
import type { CacheEntry } from './cache-entry';
import type { TieredCacheStore } from './tiered-cache.store';

/** The one caller that calls upstream; it must `settle` or `fail` exactly once. */
export interface FlightLease {
  /** Shares the result with the waiters; stores it when `store` is true. */
  settle(entry: CacheEntry, store: boolean): Promise<void>;
  /** Hands the error to the waiters and frees the lock. */
  fail(error: unknown): Promise<void>;
}

/** What `enter` decided: lead (call upstream) or follow (wait for the leader's result). */
export type Flight = { lead: FlightLease } | { follow: Promise<CacheEntry> };

interface Deferred {
  promise: Promise<CacheEntry>;
  resolve(entry: CacheEntry): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (entry: CacheEntry) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<CacheEntry>((ok, ko) => ((resolve = ok), (reject = ko)));
  // A flight nobody follows must not turn into an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Single-flight for cache misses: in-process through a map of pending calls, across
 * instances through a Redis lock (`SET NX PX`, taken in the same script that looks for the
 * entry). A waiter on another instance looks again when the leader releases the lock (a
 * pub/sub notification, `unlocked(hash)`), and at the latest every `pollIntervalMs` (doubling
 * up to 8x) in case a notification is lost, until the entry appears, the lock is free again
 * (it then leads) or `waitTimeoutMs` passes (it then calls upstream itself). Redis errors make
 * the caller lead without a lock.
 */
export class SingleFlight {
  private readonly flights = new Map<string, Deferred>();
  /** Waiters on other instances' locks, woken early by `unlocked(hash)`. */
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(
    private readonly store: TieredCacheStore,
    private readonly options: { waitTimeoutMs: number; lockTtlMs: number; pollIntervalMs: number },
  ) {}

  get inFlight(): number {
    return this.flights.size;
  }

  /** Whether an upstream call for `hash` is in flight in this process. */
  has(hash: string): boolean {
    return this.flights.has(hash);
  }

  async enter(hash: string): Promise<Flight> {
    const pending = this.flights.get(hash);
    if (pending) return { follow: pending.promise };
    const flight = deferred();
    this.flights.set(hash, flight);
    if (!this.store.l2) return { lead: this.lease(hash, flight) };
    const token = randomUUID();
    const deadline = Date.now() + this.options.waitTimeoutMs;
    let wait = this.options.pollIntervalMs;
    try {
      for (;;) {
        const found = await this.store.getOrLock(hash, token, this.options.lockTtlMs);
        if ('entry' in found) {
          this.store.remember(hash, found.entry);
          this.flights.delete(hash);
          flight.resolve(found.entry);
          return { follow: flight.promise };
        }
        if (found.locked) return { lead: this.lease(hash, flight, token) };
        if (Date.now() + wait > deadline) break;
        await this.pause(hash, wait);
        wait = Math.min(wait * 2, this.options.pollIntervalMs * 8);
      }
    } catch {
      // Redis is away: lead without a lock; the caller's own store call reports the error.
    }
    return { lead: this.lease(hash, flight) };
  }

  /** Another instance released the lock of `hash`: its waiters here look again now. */
  unlocked(hash: string): void {
    for (const wake of [...(this.wakers.get(hash) ?? [])]) wake();
  }

  /** Waits `ms`, or less if the lock of `hash` is released meanwhile. */
  private pause(hash: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wakers = this.wakers.get(hash) ?? new Set<() => void>();
      this.wakers.set(hash, wakers);
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        if (wakers.size === 0) this.wakers.delete(hash);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  private lease(hash: string, flight: Deferred, token?: string): FlightLease {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      this.flights.delete(hash);
      return true;
    };
    return {
      settle: async (entry, store) => {
        if (!finish()) return;
        flight.resolve(entry);
        if (store || token) await this.store.set(hash, store ? entry : undefined, token);
      },
      fail: async (error) => {
        if (!finish()) return;
        flight.reject(error);
        if (token) await this.store.set(hash, undefined, token);
      },
    };
  }
}

/** The leader gave up without a result (its client went away mid-stream); waiters call upstream themselves. */
export class FlightAbandonedError extends Error {
  override readonly name = 'FlightAbandonedError';
}
