import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import {
  catchError,
  concatWith,
  defer,
  from,
  ignoreElements,
  mergeMap,
  type Observable,
  tap,
  throwError,
} from 'rxjs';
import type { PriceTable } from '../llm/llm-pricing';
import { actualCost } from './budget-reservation';
import type { BudgetLeases } from './budget-leases';
import { priceTableOf } from './route-plan';
import {
  BUDGET_LEASES,
  MICRO_USD,
  RESOLVED_THROTTLING_OPTIONS,
} from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';
import { ThrottlingService } from './throttling.service';
import { ThrottlingStats } from './throttling-stats.service';

/**
 * Settles the budget reservations the guard made, after the handler: to the response's real
 * usage (or an estimate from its text when it reports none), or to nothing when the handler
 * throws, before the response is sent (one more store call on budget routes). A request that never gets here (the process
 * dies, the handler hangs) gets its reservation back when the lease expires. For a streamed
 * (Observable) response, the last emitted value settles it (streams report usage last).
 *
 * @example
 * // registered globally by ThrottlingModule; nothing to do on routes.
 */
@Injectable()
export class BudgetSettleInterceptor implements NestInterceptor {
  private readonly pricing: PriceTable;

  constructor(
    @Inject(RESOLVED_THROTTLING_OPTIONS) options: ResolvedThrottlingOptions,
    private readonly throttling: ThrottlingService,
    private readonly stats: ThrottlingStats,
  ) {
    this.pricing = priceTableOf(options);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request & { [BUDGET_LEASES]?: BudgetLeases }>();
    const leases = req[BUDGET_LEASES];
    if (!leases) return next.handle();
    let last: unknown;
    // Nest sends a response when the handler's Observable completes, so settling before
    // completion makes the caller's next request see the real usage.
    return next.handle().pipe(
      tap((value) => (last = value)),
      catchError((error: unknown) =>
        from(this.settle(leases, undefined)).pipe(mergeMap(() => throwError(() => error))),
      ),
      concatWith(defer(() => from(this.settle(leases, last))).pipe(ignoreElements())),
    );
  }

  private async settle(leases: BudgetLeases, response: unknown): Promise<void> {
    const cost =
      response === undefined
        ? { tokens: 0, usd: 0 }
        : actualCost(response, leases.reservation, this.pricing);
    const items = leases.items.map((item) => {
      const actual = item.kind === 'tokens' ? cost.tokens : Math.ceil(cost.usd * MICRO_USD);
      this.stats.recordBudget(item.name, item.kind === 'tokens' ? cost.tokens : cost.usd, false);
      return {
        key: item.key,
        limit: item.limit,
        periodMs: item.periodMs,
        reserved: item.reserved,
        actual,
        leaseId: item.leaseId,
      };
    });
    await this.throttling.settle(items, leases.stores);
  }
}
