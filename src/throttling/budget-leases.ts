import type { Reservation } from './budget-reservation';
import type { SettleItem } from './throttle-store.interface';
import type { CheckStore } from './throttling.service';
import type { UsageMeter } from './usage-meter';

/** The budget reservations of an admitted request, left on it for the settling interceptor. */
export interface BudgetLeases {
  reservation: Reservation;
  items: (Omit<SettleItem, 'actual'> & { name: string; kind: 'tokens' | 'usd' })[];
  stores: CheckStore[];
  /** Settles every reservation, once, to what the meter saw (nothing when undefined). */
  settle(usage: UsageMeter | undefined): Promise<void>;
}

/** Charges a request admitted free as COALESCED that called upstream itself after all. */
export type LateCharge = (usage: UsageMeter) => Promise<void>;
