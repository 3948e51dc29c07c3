import { randomUUID } from 'node:crypto';
import { type CacheEntry, isFresh } from './cache-entry';
import type { TieredCacheStore } from './tiered-cache.store';

/** The one caller that calls upstream; it must `settle` or `fail` exactly once (later calls are no-ops). */
export interface FlightLease {
  /** Shares the result with the waiters; stores it when `store` is true. */
  settle(entry: CacheEntry, store: boolean): Promise<void>;
  /** Hands the error to the waiters and frees the lock. */
  fail(error: unknown): Promise<void>;
  /** Whether `settle` or `fail` ran (or the lease expired). */
  readonly done: boolean;
}

/** What `enter` decided: lead (call upstream) or follow (wait for the leader's result). */
export type Flight = { lead: FlightLease } | { follow: Promise<CacheEntry> };

/** Bounds of a flight, in ms. */
export interface SingleFlightOptions {
  /** Longest a waiter waits for a leader (in process or on another instance). */
  waitTimeoutMs: number;
  /** Lifetime of the Redis lock, and of a leader that never settles. */
  lockTtlMs: number;
  pollIntervalMs: number;
}

interface Pending {
  promise: Promise<CacheEntry>;
  resolve(entry: CacheEntry): void;
  reject(error: unknown): void;
}

function pending(): Pending {
  let resolve!: (entry: CacheEntry) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<CacheEntry>((ok, ko) => ((resolve = ok), (reject = ko)));
  // A flight nobody follows must not turn into an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The leader gave up without a result (client gone, not cacheable, timed out, shutdown); waiters call upstream themselves. */
export class FlightAbandonedError extends Error {
  override readonly name = 'FlightAbandonedError';
}

/**
 * Single-flight for cache misses: in-process through a map of pending calls, across
 * instances through a Redis lock (`SET NX PX`, taken in the same script that looks for the
 * entry). Every wait is bounded: a waiter in this process gives up after `waitTimeoutMs`; a
 * waiter on another instance looks again when the leader releases the lock (a pub/sub
 * notification, `unlocked(hash)`), and at the latest every `pollIntervalMs` (doubling up to
 * 8x), until the entry appears, the lock is free (it then leads) or `waitTimeoutMs` passes.
 * A leader that never settles is failed after `lockTtlMs` (when its lock expires anyway).
 * A waiter that gives up gets `FlightAbandonedError` and calls upstream itself. Redis errors
 * make the caller lead without a lock. Usable from any caller (interceptor or service).
 *
 * @example
 * const flight = await singleFlight.enter(hash);
 * if ('follow' in flight) return await flight.follow; // FlightAbandonedError: call upstream
 * try { const entry = build(await upstream()); await flight.lead.settle(entry, true); }
 * catch (e) { await flight.lead.fail(e); throw e; }
 */
export class SingleFlight {
  private readonly flights = new Map<string, Pending>();
  /** Waiters on other instances' locks, woken early by `unlocked(hash)`. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly store: TieredCacheStore,
    private readonly options: SingleFlightOptions,
  ) {}

  /** How many keys have a leader in this process. */
  get inFlight(): number {
    return this.flights.size;
  }

  /** Whether a leader in this process is calling upstream for `hash`. */
  has(hash: string): boolean {
    return this.flights.has(hash);
  }

  async enter(hash: string): Promise<Flight> {
    const found = this.flights.get(hash);
    if (found) return { follow: this.bounded(found.promise) };
    const flight = pending();
    this.flights.set(hash, flight);
    if (!this.store.l2 || this.closed) return { lead: this.lease(hash, flight) };
    const token = randomUUID();
    const deadline = Date.now() + this.options.waitTimeoutMs;
    let wait = this.options.pollIntervalMs;
    try {
      for (;;) {
        let found = await this.store.getOrLock(hash, token, this.options.lockTtlMs);
        // An entry kept only to be served on error is no answer for a waiter: lock instead.
        if ('entry' in found && !isFresh(found.entry))
          found = await this.store.getOrLock(hash, token, this.options.lockTtlMs, true);
        if ('entry' in found) {
          this.store.remember(hash, found.entry);
          this.flights.delete(hash);
          flight.resolve(found.entry);
          return { follow: flight.promise };
        }
        if (found.locked) return { lead: this.lease(hash, flight, token) };
        if (this.closed || Date.now() + wait > deadline) break;
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

  /** Shutdown: every waiter stops waiting (and calls upstream itself), no new wait starts. */
  close(): void {
    this.closed = true;
    for (const flight of this.flights.values())
      flight.reject(new FlightAbandonedError('shutting down'));
    this.flights.clear();
    for (const wakers of [...this.wakers.values()]) for (const wake of [...wakers]) wake();
  }

  /** The leader's result, or FlightAbandonedError once `waitTimeoutMs` has passed. */
  private bounded(promise: Promise<CacheEntry>): Promise<CacheEntry> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FlightAbandonedError('waited longer than waitTimeoutMs')),
        this.options.waitTimeoutMs,
      );
      timer.unref();
    });
    const result = Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
    result.catch(() => undefined);
    return result;
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
      timer.unref();
      wakers.add(wake);
    });
  }

  private lease(hash: string, flight: Pending, token?: string): FlightLease {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(watchdog);
      if (this.flights.get(hash) === flight) this.flights.delete(hash);
      return true;
    };
    const lease: FlightLease = {
      get done() {
        return done;
      },
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
    // A handler that never answers: its lock would expire now anyway; free the key here too.
    const watchdog = setTimeout(() => {
      lease
        .fail(new FlightAbandonedError('the leader did not answer within lockTtlMs'))
        .catch(() => undefined);
    }, this.options.lockTtlMs);
    watchdog.unref();
    return lease;
  }
}
