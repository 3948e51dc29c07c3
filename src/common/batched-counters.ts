import { withDeadline } from '../redis/deadline';
import type { LogThrottle } from './log-throttle';

/** How a group combines two values of one field: add them (counters) or keep the newest. */
export type CounterMerge = 'sum' | 'replace';

/** One group of fields, e.g. one Redis hash. */
export interface CounterGroup {
  /**
   * Most distinct fields kept pending; a new field past it is dropped (fields often come
   * from request input, so memory stays bounded even while the store is down).
   * @default 10_000
   */
  maxFields?: number;
  /** @default 'sum' */
  merge?: CounterMerge;
}

/** What one write gets: every group's pending fields. */
export type CounterBatch<G extends string> = Record<G, Map<string, number>>;

export interface BatchedCountersOptions<G extends string> {
  groups: Record<G, CounterGroup>;
  /**
   * Writes one batch (e.g. one Lua script or MULTI). Never called while the previous write
   * is still in flight. Without it nothing is flushed: the fields are this process's totals.
   */
  write?: (batch: CounterBatch<G>) => Promise<unknown>;
  /** Time between flushes while something is pending, in ms. */
  intervalMs: number;
  /** Bound on the wait for a write, in ms. */
  timeoutMs: number;
  /** What is written, for the log line, e.g. 'cache stats'. */
  what: string;
  warn: LogThrottle;
  /** False while the store is known to be down: the batch is kept without trying. */
  ready?: () => boolean;
}

const DEFAULT_MAX_FIELDS = 10_000;

/**
 * The stats writers' one way to batch counters and flush them: increments gather in memory
 * (no store round trip on the request path) and are written every `intervalMs` and on
 * `flush()` (before a snapshot). One failure behaviour for all of them:
 *
 * - a write that fails puts its batch back: the counts go with the next flush, never lost
 *   and never counted twice;
 * - a write that outlives `timeoutMs` (a frozen Redis) stays the one write in flight:
 *   `flush()` answers false after `timeoutMs`, and no other write starts until that one
 *   settles, so a frozen Redis never accumulates pending flushes; counts keep gathering in
 *   memory, bounded by each group's `maxFields`;
 * - while `ready()` is false nothing is tried; a warning is logged at most once per interval.
 *
 * @example
 * const counters = new BatchedCounters({
 *   groups: { hits: {} },
 *   write: (batch) => redis.hSet(key, Object.fromEntries(batch.hits)),
 *   intervalMs: 200, timeoutMs: 2000, what: 'my stats', warn: new LogThrottle(logger),
 * });
 * counters.add('hits', 'gpt-4o', 1);
 */
export class BatchedCounters<G extends string> {
  private pending: CounterBatch<G>;
  private readonly groups: [G, Required<CounterGroup>][];
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** The write in flight: true once written, false when it failed (its batch is back). */
  private inFlight?: Promise<boolean>;

  constructor(private readonly options: BatchedCountersOptions<G>) {
    this.groups = (Object.entries(options.groups) as [G, CounterGroup][]).map(([name, group]) => [
      name,
      { maxFields: group.maxFields ?? DEFAULT_MAX_FIELDS, merge: group.merge ?? 'sum' },
    ]);
    this.pending = this.emptyBatch();
  }

  /** Adds `amount` to a field (or sets it, in a `replace` group); non-finite amounts are ignored. */
  add(group: G, field: string, amount: number): void {
    if (!Number.isFinite(amount)) return;
    this.put(this.pending[group], this.options.groups[group], field, amount);
    if (this.options.write && this.timer === undefined) this.arm();
  }

  /** The pending fields of a group: without `write`, the totals. */
  fields(group: G): ReadonlyMap<string, number> {
    return this.pending[group];
  }

  /** Drops the pending fields of the given groups (all by default). */
  clear(...groups: G[]): void {
    const names = groups.length > 0 ? groups : this.groups.map(([name]) => name);
    for (const name of names) this.pending[name].clear();
  }

  /**
   * Writes what is pending; resolves true once it is written (or nothing was pending), false
   * when it was not (kept for the next flush). Never throws; takes at most about two
   * `timeoutMs` (the write in flight, then its own).
   */
  async flush(): Promise<boolean> {
    const { write } = this.options;
    if (!write) return true;
    this.disarm();
    while (this.inFlight) {
      const previous = this.inFlight;
      if (!(await this.within(previous))) return this.retryLater(false);
      if (this.inFlight === previous) this.inFlight = undefined;
    }
    if (this.isEmpty()) return true;
    if (this.options.ready?.() === false) return this.retryLater(false);
    const batch = this.pending;
    this.pending = this.emptyBatch();
    const flight = write(batch).then(
      () => true,
      (error: unknown) => {
        this.restore(batch);
        this.warnLater(
          `${this.options.what} not written: ${reason(error)}; kept for the next flush`,
        );
        return false;
      },
    );
    this.inFlight = flight;
    void flight.then(() => {
      if (this.inFlight === flight) this.inFlight = undefined;
    });
    const written = (await this.within(flight)) && (await flight);
    return this.retryLater(written);
  }

  /** Stops the timer and makes a last flush (bounded; never throws). */
  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    await this.flush();
    this.disarm();
  }

  /** Whether `flight` settled within `timeoutMs`. */
  private async within(flight: Promise<boolean>): Promise<boolean> {
    const { timeoutMs, what } = this.options;
    try {
      await withDeadline(flight, timeoutMs, `a write of ${what}`);
      return true;
    } catch (error) {
      this.warnLater(`${this.options.what} not written yet: ${reason(error)}`);
      return false;
    }
  }

  private retryLater(written: boolean): boolean {
    // Once closed (the connection is going away), what the last flush could not write is dropped.
    if (!this.closed && !this.isEmpty() && this.timer === undefined) this.arm();
    return written;
  }

  private warnLater(message: string): void {
    this.options.warn.warn(`batched:${this.options.what}`, message);
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A write still in flight (a frozen Redis): no second one; look again next interval.
      if (this.inFlight) this.arm();
      else void this.flush();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private put(fields: Map<string, number>, group: CounterGroup, field: string, amount: number) {
    const current = fields.get(field);
    if (current === undefined && fields.size >= (group.maxFields ?? DEFAULT_MAX_FIELDS)) return;
    const replace = group.merge === 'replace';
    if (!replace && amount === 0) return;
    fields.set(field, replace || current === undefined ? amount : current + amount);
  }

  /** Puts a failed batch back under what came since (a newer `replace` value wins). */
  private restore(batch: CounterBatch<G>): void {
    for (const [name, group] of this.groups) {
      const fields = this.pending[name];
      for (const [field, amount] of batch[name]) {
        if (group.merge === 'replace' && fields.has(field)) continue;
        this.put(fields, group, field, amount);
      }
    }
  }

  private isEmpty(): boolean {
    return this.groups.every(([name]) => this.pending[name].size === 0);
  }

  private emptyBatch(): CounterBatch<G> {
    const batch = {} as CounterBatch<G>;
    for (const [name] of this.groups) batch[name] = new Map();
    return batch;
  }
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));
