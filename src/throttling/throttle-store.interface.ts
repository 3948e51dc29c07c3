/** One limit to check for a request: GCRA with `limit` units per `periodMs`, spending `cost`. */
export interface ThrottleCheck {
  /** The state key; its hash tag is the tracker, so a request's keys share a slot. */
  key: string;
  limit: number;
  periodMs: number;
  cost: number;
  /** Record the cost as a lease that is refunded if not settled within `leaseTtlMs`. */
  lease?: { id: string; ttlMs: number };
}

/** The state of one limit after a check. */
export interface CheckResult {
  /** Units that could still be spent right now. */
  remaining: number;
  /** Time until the limit is fully replenished. */
  resetMs: number;
  /** Time until this check would pass (0 when it passed). */
  retryAfterMs: number;
  passed: boolean;
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
  /** The lease id the reservation was made under, if any. */
  leaseId?: string;
}

/**
 * A GCRA limiter store: `consume` evaluates every check of a request atomically and spends
 * nothing unless all pass; `settle` adjusts reservations. Memory and Redis implement the same
 * algorithm.
 */
export interface ThrottleStore {
  consume(checks: ThrottleCheck[]): Promise<ConsumeResult>;
  settle(items: SettleItem[]): Promise<void>;
}

/** The lease set of a state key. */
export const leaseKeyOf = (key: string): string => `${key}:leases`;
/** A lease member carries its amount, so expiry can refund it without another lookup. */
export const leaseMember = (id: string, cost: number): string => `${id}:${cost}`;
