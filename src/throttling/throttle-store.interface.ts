/**
 * One limit to check for a request: at most `limit` units in any `periodMs` (sliding log),
 * spending `cost`.
 */
export interface ThrottleCheck {
  /** The state key; its hash tag is the tracker, so a request's keys share a slot. */
  key: string;
  limit: number;
  periodMs: number;
  cost: number;
  /** Record the cost as a lease that is refunded if not settled within `leaseTtlMs`. */
  lease?: { id: string; ttlMs: number };
  /**
   * `@nestjs/throttler`'s `blockDuration`: a rejected tracker stays rejected this long, then
   * starts afresh. 0 or unset: no block (rejected until enough of the window has passed).
   */
  blockMs?: number;
}

/** The state of one limit after a check. */
export interface CheckResult {
  /** Units that could still be spent right now. */
  remaining: number;
  /** Time until the oldest counted unit leaves the window (0 when nothing counts). */
  resetMs: number;
  /**
   * Time until this check would pass (0 when it passed); `Infinity` when it never can (its
   * cost exceeds the whole limit).
   */
  retryAfterMs: number;
  passed: boolean;
  /** The store's clock (ms) when the check ran: where a lease's amount was recorded. */
  atMs: number;
}

/** The answer for all checks of a request: admitted only if every check passed. */
export interface ConsumeResult {
  allowed: boolean;
  results: CheckResult[];
}

/** Settles a reservation: replace `reserved` by `actual` (0 refunds it). */
export interface SettleItem {
  key: string;
  limit: number;
  periodMs: number;
  reserved: number;
  actual: number;
  /** The lease the reservation was made under, if any, and when it was admitted (`atMs`). */
  leaseId?: string;
  admittedAtMs?: number;
}

/**
 * A sliding-log limiter store: `consume` evaluates every check of a request atomically and
 * spends nothing unless all pass; `settle` adjusts reservations. Memory and Redis implement
 * the same algorithm.
 */
export interface ThrottleStore {
  consume(checks: ThrottleCheck[]): Promise<ConsumeResult>;
  settle(items: SettleItem[]): Promise<void>;
}

/** The lease set of a state key. */
export const leaseKeyOf = (key: string): string => `${key}:leases`;
/** A lease member carries its amount and admission time, so expiry can refund it in place. */
export const leaseMember = (id: string, cost: number, atMs: number): string =>
  `${id}:${cost}:${atMs}`;
