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
import { isClientError } from '../common/client-error';
import { rawResponse } from '../common/http-exchange';
import { startRouteTrace } from '../telemetry/route-call.trace';
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
 * With a tracer provider registered it also draws the route's LLM-call span from the same
 * answer (`startRouteTrace`): on a route that has `@CacheLLM` too, the cache's interceptor
 * draws it instead, whichever order the two run in.
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
    const req = http.getRequest<Request>();
    const charge = requestChargeOf(req);
    const trace = startRouteTrace(context, req, 'budget');
    if (!charge && !trace.active) return next.handle();
    const meter = new UsageMeter();
    let streaming = false;
    let values = 0;
    let last: unknown;
    let done = false;
    // Ends the charge and the route's LLM-call span once, with what the response produced.
    const settle = (usage: UsageMeter | undefined, error?: unknown): Promise<void> => {
      if (done) return Promise.resolve();
      done = true;
      if (error !== undefined) trace.fail(error, isClientError(error, req));
      else if (values === 1 && !streaming) trace.end(last);
      else trace.end(undefined, meter.facts());
      return charge
        ? charge.end(usage, fromCache(rawResponse(http.getResponse())))
        : Promise.resolve();
    };
    // Nest sends a response when the handler's Observable completes, so settling before
    // completion makes the caller's next request see the real usage.
    return trace
      .handle(undefined, () => next.handle())
      .pipe(
        map((value) => {
          if (!isAsyncIterable(value)) {
            values++;
            last = value;
            meter.add(value);
            return value;
          }
          streaming = true;
          return metered(value, meter, (error) => settle(meter, error));
        }),
        catchError((error: unknown) =>
          from(settle(meter.produced ? meter : undefined, error)).pipe(
            mergeMap(() => throwError(() => error)),
          ),
        ),
        concatWith(
          defer(() => (streaming ? from([]) : from(settle(meter)))).pipe(ignoreElements()),
        ),
      );
  }
}

/** The stream, read through the meter; settles once when it ends, fails or its reader stops. */
function metered(
  source: AsyncIterable<unknown>,
  meter: UsageMeter,
  settle: (error?: unknown) => Promise<void>,
): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      let failure: unknown;
      try {
        for await (const chunk of source) {
          meter.add(chunk);
          yield chunk;
        }
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        await settle(failure);
      }
    },
  };
}
