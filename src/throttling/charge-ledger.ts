import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PriceTable } from '../llm/llm-pricing';
import { traceBudgetReserved, traceBudgetSettled, traceRefusal } from '../telemetry/kit-decisions';
import { reserveFor, type Reservation } from './budget-reservation';
import { priceTableOf } from './route-plan';
import { type Charge, chargeOf, type SettleItem } from './throttle-store.interface';
import { MICRO_USD, RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';
import {
  type CheckStore,
  type Evaluation,
  type PolicyCheck,
  ThrottlingService,
} from './throttling.service';
import { ThrottlingStats } from './throttling-stats.service';
import type { UsageMeter } from './usage-meter';

/** What a charge is counted in. */
export type ChargeKind = 'requests' | 'tokens' | 'usd';

/** A check the ledger charges, and the unit it counts. */
export interface LedgerCheck extends PolicyCheck {
  kind: ChargeKind;
}

/** The ledger's answer to `reserve`: the stores' verdict and, when admitted, its lease. */
export interface Reserved extends Evaluation {
  lease?: Lease;
}

type Cost = { tokens: number; usd: number };

/**
 * Every charge of ThrottlingModule goes through here: `reserve` (all checks of a request or
 * call in one store call), then, once the response is known, `Lease.settle` (budgets to the
 * real usage), `Lease.refund` (everything back: the cache answered after all) or `Lease.keep`
 * (the reservation is the charge); `chargeLate` charges a request admitted free (COALESCED)
 * that called upstream itself. The guard, `BudgetSettleInterceptor` and call-level budgets
 * use it; only it builds what the stores settle (`chargeOf`), so a settle always finds the
 * lease the store recorded.
 *
 * @example
 * const { allowed, lease } = await ledger.reserve(checks, reservation);
 * // ... the LLM answers
 * await lease?.settle(meter);
 */
@Injectable()
export class ChargeLedger {
  readonly pricing: PriceTable;

  constructor(
    @Inject(RESOLVED_THROTTLING_OPTIONS) readonly options: ResolvedThrottlingOptions,
    private readonly throttling: ThrottlingService,
    readonly stats: ThrottlingStats,
  ) {
    this.pricing = priceTableOf(options);
  }

  /** What an LLM request body is expected to cost (prompt estimate + completion cap). */
  reservationOf(body: unknown): Reservation {
    return reserveFor(body, this.options.llm, this.pricing);
  }

  /** A new lease for the budget checks of one request or call (they expire together). */
  newLease(): { id: string; ttlMs: number } {
    return { id: randomUUID(), ttlMs: this.options.llm.leaseTtlMs };
  }

  /** Admits every check or none; when admitted, the lease that settles them. */
  async reserve(checks: LedgerCheck[], reservation?: Reservation): Promise<Reserved> {
    const outcome = await this.throttling.consume(checks);
    if (!outcome.allowed) {
      traceRefusal(checks, outcome.results, outcome.unavailable);
      return outcome;
    }
    if (reservation && checks.some((check) => check.kind !== 'requests'))
      traceBudgetReserved(reservation.tokens, reservation.usd);
    const charges = checks.map((check, i) => chargeOf(check, outcome.results[i]));
    const lease = new Lease(this, checks, charges, outcome.stores, reservation);
    return { ...outcome, lease };
  }

  /** Charges checks never reserved (one request each, and the usage) to the store in use. */
  async chargeLate(
    checks: LedgerCheck[],
    reservation: Reservation | undefined,
    usage: UsageMeter,
  ): Promise<void> {
    const cost = this.usageCost(reservation, usage);
    const store: CheckStore = this.throttling.usesRedis ? 'redis' : 'memory';
    const items = checks.map((check): SettleItem => ({
      charge: chargeOf(check, undefined),
      actual: check.kind === 'requests' ? 1 : this.amount(check.kind, cost),
    }));
    checks.forEach((check, i) => this.record(check, cost, items[i]!.actual));
    await this.throttling.settle(
      items,
      items.map(() => store),
    );
  }

  /** @internal Settles the given charges of a lease to their actual amounts. */
  async settle(items: SettleItem[], stores: CheckStore[]): Promise<void> {
    if (items.length > 0) await this.throttling.settle(items, stores);
  }

  /** What a response used, in tokens and USD (nothing without a reservation). */
  usageCost(reservation: Reservation | undefined, usage: UsageMeter | undefined): Cost {
    return reservation && usage ? usage.cost(reservation, this.pricing) : { tokens: 0, usd: 0 };
  }

  /** An amount in a budget's unit (USD budgets count micro-dollars). */
  amount(kind: 'tokens' | 'usd', cost: Cost): number {
    return kind === 'tokens' ? cost.tokens : Math.ceil(cost.usd * MICRO_USD);
  }

  /** Counts a charge in the stats: an admitted request, or a budget's consumption. */
  record(check: LedgerCheck, cost: Cost, actual: number): void {
    if (check.kind === 'requests') {
      if (actual > 0) this.stats.recordPolicy(check.policy, true);
    } else
      this.stats.recordBudget(
        check.policy,
        check.kind === 'tokens' ? cost.tokens : cost.usd,
        false,
      );
  }
}

/**
 * The charges of one admitted request or call. Each charge ends once: settled to its actual
 * amount, refunded, or kept; later calls leave it as it is. A lease never ended expires in
 * the store (`llm.leaseTtlMs`) and its reservation comes back.
 */
export class Lease {
  private readonly open: boolean[];

  constructor(
    private readonly ledger: ChargeLedger,
    private readonly checks: LedgerCheck[],
    private readonly charges: Charge[],
    private readonly stores: CheckStore[],
    readonly reservation: Reservation | undefined,
  ) {
    this.open = checks.map(() => true);
  }

  /** Settles the budget charges still open to what `usage` cost (nothing: a full refund). */
  settle(usage: UsageMeter | undefined): Promise<void> {
    const cost = this.ledger.usageCost(this.reservation, usage);
    return this.end(
      (check) => check.kind !== 'requests',
      (check) => (check.kind === 'requests' ? 0 : this.ledger.amount(check.kind, cost)),
      cost,
    );
  }

  /** Gives back every charge still open, requests included (the cache answered after all). */
  refund(): Promise<void> {
    return this.end(
      () => true,
      () => 0,
      { tokens: 0, usd: 0 },
    );
  }

  /** The reservation is the charge (nothing settles it: a gateway message, a resolver). */
  keep(): void {
    const reservation = this.reservation;
    if (!reservation) return;
    this.checks.forEach((check, i) => {
      if (!this.open[i] || check.kind === 'requests') return;
      this.open[i] = false;
      this.ledger.record(check, { tokens: reservation.tokens, usd: reservation.usd }, check.cost);
    });
  }

  private end(
    which: (check: LedgerCheck) => boolean,
    actualOf: (check: LedgerCheck) => number,
    cost: Cost,
  ): Promise<void> {
    const items: SettleItem[] = [];
    const stores: CheckStore[] = [];
    this.checks.forEach((check, i) => {
      if (!this.open[i] || !which(check)) return;
      this.open[i] = false;
      const actual = actualOf(check);
      if (check.kind !== 'requests') this.ledger.record(check, cost, actual);
      items.push({ charge: this.charges[i]!, actual });
      stores.push(this.stores[i]!);
    });
    if (items.length > 0 && this.reservation) traceBudgetSettled(cost.tokens, cost.usd);
    return this.ledger.settle(items, stores);
  }
}
