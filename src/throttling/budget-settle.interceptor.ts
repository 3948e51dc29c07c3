import {
  type CallHandler,
  type ExecutionContext,
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
import type { BudgetLeases } from './budget-leases';
import { BUDGET_LEASES } from './throttling.internal-constants';

/**
 * Settles the budget reservations the guard made, after the handler: to the response's real
 * usage (or an estimate from its text when it reports none), or to nothing when the handler
 * throws, before the response is sent (one more store call on budget routes). A request that
 * never gets here (the process dies, the handler hangs) gets its reservation back when the
 * lease expires. For a streamed (Observable) response, the last emitted value settles it
 * (streams report usage last).
 *
 * Applied by `@LLMThrottle()` to its routes only (no dependencies: the guard leaves the
 * settling function on the request), so other routes of the app do not pay for an
 * interceptor pipeline.
 *
 * @example
 * // applied by @LLMThrottle(); nothing to do on routes.
 */
@Injectable()
export class BudgetSettleInterceptor implements NestInterceptor {
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
        from(leases.settle(undefined)).pipe(mergeMap(() => throwError(() => error))),
      ),
      concatWith(defer(() => from(leases.settle(last))).pipe(ignoreElements())),
    );
  }
}
