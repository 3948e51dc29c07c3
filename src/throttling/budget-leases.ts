import type { Reservation } from './budget-reservation';
import type { SettleItem } from './throttle-store.interface';
import type { CheckStore } from './throttling.service';

/** The budget reservations of an admitted request, left on it for the settling interceptor. */
export interface BudgetLeases {
  reservation: Reservation;
  items: (Omit<SettleItem, 'actual'> & { name: string; kind: 'tokens' | 'usd' })[];
  stores: CheckStore[];
  /** Settles every reservation to what `response` really used (nothing when undefined). */
  settle(response: unknown): Promise<void>;
}
