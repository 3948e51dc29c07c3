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
  map,
  mergeMap,
  type Observable,
  throwError,
} from 'rxjs';
import { rawResponse } from '../common/http-exchange';
import { fromCache, requestChargeOf } from './request-charge';
import { isAsyncIterable, UsageMeter } from './usage-meter';

/**
 * Settles the budget reservations the guard made, after the handler, to what the response
 * really used (`UsageMeter`: reported usage, else an estimate from the produced text), or to
 * nothing when the handler throws before producing anything. Every response shape: a value,
 * an Observable (every emission is metered, so an `@Sse()` stream or a chunked Observable
 * settles from its final usage chunk or its streamed text), an AsyncIterable or SDK stream
 * object (wrapped: metered as it is read, settled when it ends, fails or is abandoned). A
 * request that never gets here (the process dies, nobody reads the stream) gets its
 * reservation back when the lease expires.
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
    const http = context.switchToHttp();
    const charge = requestChargeOf(http.getRequest<Request>());
    if (!charge) return next.handle();
    let done = false;
    const leases = {
      settle: (usage: UsageMeter | undefined): Promise<void> => {
        if (done) return Promise.resolve();
        done = true;
        return charge.end(usage, fromCache(rawResponse(http.getResponse())));
      },
    };
    const meter = new UsageMeter();
    let streaming = false;
    // Nest sends a response when the handler's Observable completes, so settling before
    // completion makes the caller's next request see the real usage.
    return next.handle().pipe(
      map((value) => {
        if (!isAsyncIterable(value)) {
          meter.add(value);
          return value;
        }
        streaming = true;
        return metered(value, meter, () => leases.settle(meter));
      }),
      catchError((error: unknown) =>
        from(leases.settle(meter.produced ? meter : undefined)).pipe(
          mergeMap(() => throwError(() => error)),
        ),
      ),
      concatWith(
        defer(() => (streaming ? from([]) : from(leases.settle(meter)))).pipe(ignoreElements()),
      ),
    );
  }
}

/** The stream, read through the meter; settles once when it ends, fails or its reader stops. */
function metered(
  source: AsyncIterable<unknown>,
  meter: UsageMeter,
  settle: () => Promise<void>,
): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const chunk of source) {
          meter.add(chunk);
          yield chunk;
        }
      } finally {
        await settle();
      }
    },
  };
}
