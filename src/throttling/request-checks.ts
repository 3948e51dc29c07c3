import type { ExecutionContext, HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Reservation } from './budget-reservation';
import type { ChargeLedger } from './charge-ledger';
import type { GuardCheck } from './guard-check';
import { throttlerCheck, type TrackerSource } from './nest-throttler-checks';
import { neverFits } from './rate-limit-problem';
import type { RoutePlan } from './route-plan';

/** A request's checks, and the reservation its LLM budgets were made of. */
export interface RequestChecks {
  checks: GuardCheck[];
  reservation: Reservation | undefined;
}

/**
 * The checks of a request: its request limits (global, `@RateLimit`, `@LLMThrottle`'s), its
 * LLM budgets (the body's reservation; leased when `leased`, settled after the response) and
 * its `@nestjs/throttler` throttlers. Throws 413 for a reservation larger than a whole budget:
 * no wait would let it through.
 */
export async function requestChecks(
  context: ExecutionContext,
  plan: RoutePlan,
  req: Request,
  res: ServerResponse | undefined,
  ledger: ChargeLedger,
  trackers: TrackerSource,
  leased: boolean,
  refusal: (error: HttpException) => Error,
): Promise<RequestChecks> {
  const options = ledger.options;
  const keyOf = (tracker: string, name: string): string =>
    `${options.keyPrefix}{${tracker}}:${name}`;
  const llm = plan.llm;
  const checks: GuardCheck[] = [];
  // Plain object literals of one shape each (no spreads): this runs on every request.
  for (const p of llm ? [...plan.requests, llm.request] : plan.requests) {
    const tracker = trackers.hashed(p.by);
    checks.push({
      kind: 'requests',
      policy: p.name,
      key: keyOf(tracker, p.name),
      limit: p.limit,
      periodMs: p.ttlMs,
      cost: 1,
      onRedisError: p.onRedisError,
      tracker,
      throttler: undefined,
    });
  }
  const reservation = llm?.budgets.length
    ? ledger.reservationOf(
        context.getType<string>() === 'graphql' ? context.getArgByIndex(1) : req.body,
      )
    : undefined;
  const lease = reservation && leased ? ledger.newLease() : undefined;
  for (const b of llm?.budgets ?? []) {
    const cost = ledger.amount(b.kind, reservation!);
    if (cost > b.limit) throw refusal(neverFits(res, b, cost));
    const tracker = trackers.hashed(b.by);
    checks.push({
      kind: b.kind,
      policy: b.name,
      key: keyOf(tracker, b.name),
      limit: b.limit,
      periodMs: b.periodMs,
      cost,
      onRedisError: b.onRedisError,
      lease,
      tracker,
      throttler: undefined,
    });
  }
  for (const t of plan.throttlers) {
    const check = await throttlerCheck(context, req, t, options, trackers);
    if (check) checks.push(check);
  }
  return { checks, reservation };
}
