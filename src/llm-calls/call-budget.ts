import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { PriceTable } from '../llm/llm-pricing';
import { reserveFor } from '../throttling/budget-reservation';
import { UsageMeter } from '../throttling/usage-meter';
import { hashedTracker, trackerValue } from '../throttling/request-tracker';
import { priceTableOf } from '../throttling/route-plan';
import { DAY_MS, MICRO_USD, MINUTE_MS } from '../throttling/throttling.internal-constants';
import type { ResolvedThrottlingOptions } from '../throttling/throttling-options';
import type { ThrottlingService, PolicyCheck } from '../throttling/throttling.service';
import type { ThrottlingStats } from '../throttling/throttling-stats.service';
import type { SettleItem } from '../throttling/throttle-store.interface';
import { LlmBudgetExceededError } from './llm-calls.errors';

/**
 * The budgets of a call site; unset fields come from `ThrottlingModule.forRoot({ llm })`.
 * Budgets are named `<policy>:tokens` / `<policy>:usd` and shared with `@LLMThrottle()`
 * routes of the same policy and tracker.
 *
 * @example
 * const budget: CallBudgetOptions = { tokensPerMinute: 20_000, usdPerDay: 2 };
 */
export interface CallBudgetOptions {
  /** Policy name the budgets are named after. @default 'llm' */
  policy?: string;
  /** Tokens (prompt + completion) per minute per caller. @default the module's `llm.tokensPerMinute` */
  tokensPerMinute?: number;
  /** USD per day (sliding 24 h) per caller. @default the module's `llm.usdPerDay` */
  usdPerDay?: number;
}

/** Who pays: the request (its tracker as the policy defines it) or a raw tracker value. */
export type CallPayer = { req: Request } | { tracker: string };

/** A reservation made for one upstream call; `settle` exactly once (undefined refunds it). */
export interface CallLease {
  settle(response: unknown): Promise<void>;
}

const tables = new WeakMap<ResolvedThrottlingOptions, PriceTable>();

/**
 * Reserves the call's budgets (prompt estimate + completion cap, as `@LLMThrottle()` does
 * for a body) in one store call; throws `LlmBudgetExceededError` when one is spent. Returns
 * undefined when no budget applies.
 */
export async function reserveCallBudget(
  throttling: ThrottlingService,
  options: ResolvedThrottlingOptions,
  params: unknown,
  payer: CallPayer,
  budget: CallBudgetOptions = {},
  stats?: ThrottlingStats,
): Promise<CallLease | undefined> {
  const policy = budget.policy ?? 'llm';
  const tokens = budget.tokensPerMinute ?? options.llm.tokensPerMinute;
  const usd = budget.usdPerDay ?? options.llm.usdPerDay;
  if (tokens === undefined && usd === undefined) return undefined;
  let pricing = tables.get(options);
  if (!pricing) tables.set(options, (pricing = priceTableOf(options)));
  const reservation = reserveFor(params, options.llm, pricing);
  const by = options.policies[policy]?.by ?? options.tracker;
  const tracker = hashedTracker(
    'req' in payer ? trackerValue(payer.req, by, options) : payer.tracker,
  );
  const leaseId = randomUUID();
  const plans = [
    ...(tokens !== undefined
      ? [{ kind: 'tokens' as const, limit: tokens, periodMs: MINUTE_MS, cost: reservation.tokens }]
      : []),
    ...(usd !== undefined
      ? [
          {
            kind: 'usd' as const,
            limit: Math.round(usd * MICRO_USD),
            periodMs: DAY_MS,
            cost: Math.ceil(reservation.usd * MICRO_USD),
          },
        ]
      : []),
  ].map((plan) => ({ ...plan, name: `${policy}:${plan.kind}` }));
  const onRedisError = options.policies[policy]?.onRedisError ?? options.onRedisError;
  const checks: PolicyCheck[] = plans.map((plan) => ({
    policy: plan.name,
    key: `${options.keyPrefix}{${tracker}}:${plan.name}`,
    limit: plan.limit,
    periodMs: plan.periodMs,
    cost: plan.cost,
    onRedisError,
    lease: { id: leaseId, ttlMs: options.llm.leaseTtlMs },
  }));
  const outcome = await throttling.consume(checks);
  if (outcome.unavailable) throw new LlmBudgetExceededError(['(budgets unavailable)'], 1);
  if (!outcome.allowed) {
    const violated = plans.filter((_, i) => outcome.results[i] && !outcome.results[i].passed);
    for (const plan of violated) stats?.recordBudget(plan.name, 0, true);
    const retryMs = Math.max(
      0,
      ...outcome.results.map((r) => (r && !r.passed ? r.retryAfterMs : 0)),
    );
    const error = new LlmBudgetExceededError(
      violated.map((plan) => plan.name),
      Math.max(1, Math.ceil(retryMs / 1000)),
      violated.map((plan) => ({
        name: plan.name,
        kind: plan.kind,
        limit: plan.limit,
        windowMs: plan.periodMs,
      })),
    );
    // Inside an HTTP request the error becomes the response: the same headers a route's 429 has.
    const res = 'req' in payer ? payer.req.res : undefined;
    if (res && !res.headersSent) {
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
      res.setHeader('Content-Type', 'application/problem+json');
    }
    throw error;
  }
  const costOf = (response: unknown) => {
    const meter = new UsageMeter();
    meter.add(response);
    return meter.cost(reservation, pricing);
  };
  let settled = false;
  return {
    settle: async (response) => {
      if (settled) return;
      settled = true;
      const cost = response === undefined ? { tokens: 0, usd: 0 } : costOf(response);
      const items: SettleItem[] = checks.map((check, i) => {
        const kind = plans[i]!.kind;
        stats?.recordBudget(plans[i]!.name, kind === 'tokens' ? cost.tokens : cost.usd, false);
        return {
          key: check.key,
          limit: check.limit,
          periodMs: check.periodMs,
          reserved: check.cost,
          actual: kind === 'tokens' ? cost.tokens : Math.ceil(cost.usd * MICRO_USD),
          leaseId,
          // The lease member carries the admission time: without it the store cannot find it.
          admittedAtMs: outcome.results[i]?.atMs,
        };
      });
      await throttling.settle(items, outcome.stores);
    },
  };
}
