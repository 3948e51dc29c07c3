import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Reservation } from './budget-reservation';
import type { ChargeLedger, LedgerCheck, Lease } from './charge-ledger';
import { REQUEST_CHARGE } from './throttling.internal-constants';
import type { UsageMeter } from './usage-meter';

/**
 * How a request admitted by the guard ends its charge, once its response is known; left on
 * the request for `BudgetSettleInterceptor`.
 */
export interface RequestCharge {
  /**
   * `usage`: what the response used (undefined: nothing was produced); `fromCache`: the
   * response was answered by another call (X-Cache HIT or COALESCED). Runs once.
   */
  end(usage: UsageMeter | undefined, fromCache: boolean): Promise<void>;
}

type WithCharge = Request & { [REQUEST_CHARGE]?: RequestCharge };

/** The charge the guard left on a request, if any. */
export const requestChargeOf = (req: Request): RequestCharge | undefined =>
  (req as WithCharge)[REQUEST_CHARGE];

/**
 * An admitted request: its budgets settle to what the response used. With `refundable` (an
 * `@LLMThrottle` route whose cache hits are free), a response answered from another call gives
 * everything back, as if it had been a hit from the start; also when `@CacheLLM` runs outside
 * `BudgetSettleInterceptor` (a COALESCED answer never reaches it): on the response's finish.
 */
export function leaveLease(
  req: Request,
  res: ServerResponse,
  lease: Lease,
  refundable: boolean,
): void {
  if (refundable)
    res.once('finish', () => {
      if (fromCache(res)) lease.refund().catch(() => undefined);
    });
  if (!lease.reservation && !refundable) return;
  (req as WithCharge)[REQUEST_CHARGE] = {
    end: (usage, cached) => (refundable && cached ? lease.refund() : lease.settle(usage)),
  };
}

/**
 * A request admitted free (COALESCED): charged only if it called upstream itself after all
 * (its leader failed), what it used, when it ends.
 */
export function leaveLateCharge(
  req: Request,
  ledger: ChargeLedger,
  checks: LedgerCheck[],
  reservation: Reservation | undefined,
): void {
  (req as WithCharge)[REQUEST_CHARGE] = {
    end: (usage, cached) =>
      usage && !cached ? ledger.chargeLate(checks, reservation, usage) : Promise.resolve(),
  };
}

/** Whether the cache answered the response (X-Cache HIT or COALESCED). */
export function fromCache(res: ServerResponse): boolean {
  const status = res.getHeader('X-Cache');
  return status === 'COALESCED' || status === 'HIT';
}
