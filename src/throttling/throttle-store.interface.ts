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

/**
 * What a store admitted for one check, and where: the ledger's record of a charge, the only
 * thing a store settles. Built by `chargeOf` from the check and the store's answer, so the
 * lease member (id, amount, admission time) always matches the one the store recorded.
 */
export interface Charge {
  readonly key: string;
  readonly limit: number;
  readonly periodMs: number;
  /** The amount admitted (0: never admitted, a late charge). */
  readonly amount: number;
  /** The store's clock when it was admitted (0: never admitted). */
  readonly atMs: number;
  /** The lease the amount was recorded under, if any. */
  readonly leaseId?: string;
}

/** The charge of `check` as the store answered it (no answer: nothing was admitted). */
export const chargeOf = (check: ThrottleCheck, result: CheckResult | undefined): Charge =>
  result
    ? {
        key: check.key,
        limit: check.limit,
        periodMs: check.periodMs,
        amount: check.cost,
        atMs: result.atMs,
        leaseId: check.lease?.id,
      }
    : { key: check.key, limit: check.limit, periodMs: check.periodMs, amount: 0, atMs: 0 };

/**
 * Settles a charge: its amount is replaced by `actual` where it was admitted (0 refunds it);
 * a charge whose lease expired (already refunded) is charged `actual` now; a charge never
 * admitted (amount 0) is charged `actual` now.
 */
export interface SettleItem {
  charge: Charge;
  actual: number;
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
/**
 * A lease member carries its amount and admission time, so expiry can refund it in place (the
 * consume script writes the same `<id>:<amount>:<atMs>`).
 */
export const leaseMember = (charge: Charge & { leaseId: string }): string =>
  `${charge.leaseId}:${charge.amount}:${charge.atMs}`;
