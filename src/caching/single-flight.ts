import { HttpException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type CacheEntry, isFresh } from './cache-entry';
import type { TieredCacheStore } from './tiered-cache.store';

/**
 * The one caller that calls upstream; it must `settle` or `fail` exactly once (later calls
 * are no-ops, except that a clean answer after `lockTtlMs` is still stored).
 */
export interface FlightLease {
  /** Shares the result with the waiters; stores it when `store` is true. */
  settle(entry: CacheEntry, store: boolean): Promise<void>;
  /**
   * Frees the lock and ends the waiters' wait: an upstream failure is theirs too (they get
   * `error`); a failure of the leader's own (see `isOwnFailure`) is not: they get
   * `FlightAbandonedError` and run their own admission.
   */
  fail(error: unknown): Promise<void>;
  /** Whether `settle` or `fail` ran (or the lease expired). */
  readonly done: boolean;
}

/** What `enter` decided: lead (call upstream) or follow (wait for the leader's result). */
export type Flight = { lead: FlightLease } | { follow: Promise<CacheEntry> };

/** What `join` ended with: lead, the leader's entry, or alone (call upstream without the flight). */
export type Joined = { lead: FlightLease } | { entry: CacheEntry } | { alone: true };

/** How often a waiter whose leader gave up enters the flight again before it goes alone. */
const MAX_JOINS = 3;

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

  constructor(
    message?: string,
    /** The waiter's own `waitTimeoutMs` ran out (the leader may still be on its way). */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

const OWN_FAILURES = new Set([
  'AbortError',
  'TimeoutError',
  'APIUserAbortError',
  'APIConnectionTimeoutError',
  'FlightAbandonedError',
]);

/**
 * A failure that belongs to the caller, not to the upstream answer: an abort or a timeout
 * of its own, or an HTTP 4xx raised for its request (a spent budget or limit, a refused
 * identity, its pipes). Never handed to the waiters of a flight: they may be other users.
 */
export function isOwnFailure(error: unknown): boolean {
  if (error instanceof HttpException) return error.getStatus() < 500;
  return error instanceof Error && OWN_FAILURES.has(error.name);
}

/**
 * Single-flight for cache misses: in-process through a map of pending calls, across
 * instances through a Redis lock (`SET NX PX`, taken in the same script that looks for the
 * entry). Every wait is bounded: a waiter in this process gives up after `waitTimeoutMs`; a
 * waiter on another instance looks again when the leader releases the lock (a pub/sub
 * notification, `unlocked(hash)`), and at the latest every `pollIntervalMs` (doubling up to
 * 8x), until the entry appears, the lock is free (it then leads) or `waitTimeoutMs` passes.
 * A leader still running after `lockTtlMs` is failed for its waiters (its lock expires anyway)
 * but its clean answer is still stored when it settles. A leader's own failure (`isOwnFailure`)
 * releases its waiters with `FlightAbandonedError`; `join` then lets each run its own admission.
 * A waiter that gives up gets `FlightAbandonedError` and calls upstream itself. Redis errors
 * (or `enter(hash, true)` after a failed lookup) make the caller lead without a lock: identical
 * misses of this process still make one call. Usable from any caller (interceptor or service).
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

  /**
   * Leads or follows the flight of `hash`. `local`: the store just failed, so the flight is
   * in this process only (no Redis lock to wait on): identical misses still make one call.
   */
  async enter(hash: string, local = false): Promise<Flight> {
    const found = this.flights.get(hash);
    if (found) return { follow: this.bounded(found.promise) };
    const flight = pending();
    this.flights.set(hash, flight);
    if (!this.store.l2 || this.closed || local) return { lead: this.lease(hash, flight) };
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

  /**
   * `enter`, and when the leader gives up (its own failure, its client gone, not cacheable)
   * enter again, so each waiter runs its own admission: one of them leads, the others follow
   * it. A waiter whose own wait ran out, or that was let down `MAX_JOINS` times, goes alone.
   * An upstream failure of the leader is thrown. `first`: a flight already entered.
   */
  async join(hash: string, local = false, first?: Flight): Promise<Joined> {
    let flight = first ?? (await this.enter(hash, local));
    for (let joins = 1; ; joins++) {
      if ('lead' in flight) return flight;
      try {
        return { entry: await flight.follow };
      } catch (error) {
        if (!(error instanceof FlightAbandonedError)) throw error;
        if (error.timedOut || joins >= MAX_JOINS || this.closed) return { alone: true };
      }
      flight = await this.enter(hash, local);
    }
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
        () => reject(new FlightAbandonedError('waited longer than waitTimeoutMs', true)),
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
    let expired = false;
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
        if (!finish()) {
          // A leader slower than lockTtlMs: its waiters went on without it, but its clean
          // answer is still stored (values are immutable per key: a second writer is harmless).
          if (expired && store) await this.store.set(hash, entry);
          return;
        }
        flight.resolve(entry);
        if (store || token) await this.store.set(hash, store ? entry : undefined, token);
      },
      fail: async (error) => {
        if (!finish()) return;
        flight.reject(
          isOwnFailure(error)
            ? new FlightAbandonedError('the leader failed for a reason of its own')
            : error,
        );
        if (token) await this.store.set(hash, undefined, token);
      },
    };
    // A leader slower than the lock: the lock expires now anyway; free the key here too, so
    // waiters stop waiting on it (the leader's answer is still stored when it comes).
    const watchdog = setTimeout(() => {
      lease
        .fail(new FlightAbandonedError('the leader did not answer within lockTtlMs'))
        .catch(() => undefined);
      expired = true;
    }, this.options.lockTtlMs);
    watchdog.unref();
    return lease;
  }
}
