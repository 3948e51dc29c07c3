import type { Request } from 'express';
import { responseOf } from '../common/http-exchange';
import { type LedgerCheck, type ChargeLedger } from './charge-ledger';
import { hashedTracker, trackerValue } from './request-tracker';
import { LlmBudgetExceededError } from './throttling.errors';
import { DAY_MS, MICRO_USD, MINUTE_MS } from './throttling.internal-constants';
import { UsageMeter } from './usage-meter';

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

/**
 * Reserves the call's budgets (prompt estimate + completion cap, as `@LLMThrottle()` does
 * for a body) in one store call through the ledger; throws `LlmBudgetExceededError` when one
 * is spent. Returns undefined when no budget applies.
 */
export async function reserveCallBudget(
  ledger: ChargeLedger,
  params: unknown,
  payer: CallPayer,
  budget: CallBudgetOptions = {},
): Promise<CallLease | undefined> {
  const options = ledger.options;
  const policy = budget.policy ?? 'llm';
  const tokens = budget.tokensPerMinute ?? options.llm.tokensPerMinute;
  const usd = budget.usdPerDay ?? options.llm.usdPerDay;
  if (tokens === undefined && usd === undefined) return undefined;
  const reservation = ledger.reservationOf(params);
  const by = options.policies[policy]?.by ?? options.tracker;
  const tracker = hashedTracker(
    'req' in payer ? trackerValue(payer.req, by, options) : payer.tracker,
  );
  const onRedisError = options.policies[policy]?.onRedisError ?? options.onRedisError;
  const lease = ledger.newLease();
  type BudgetCheck = LedgerCheck & { kind: 'tokens' | 'usd' };
  const check = (kind: 'tokens' | 'usd', limit: number, periodMs: number): BudgetCheck => ({
    kind,
    policy: `${policy}:${kind}`,
    key: `${options.keyPrefix}{${tracker}}:${policy}:${kind}`,
    limit,
    periodMs,
    cost: ledger.amount(kind, reservation),
    onRedisError,
    lease,
  });
  const checks = [
    ...(tokens !== undefined ? [check('tokens', tokens, MINUTE_MS)] : []),
    ...(usd !== undefined ? [check('usd', Math.round(usd * MICRO_USD), DAY_MS)] : []),
  ];
  const outcome = await ledger.reserve(checks, reservation);
  if (outcome.unavailable)
    throw new LlmBudgetExceededError(
      checks.map((c) => c.policy),
      1,
      [],
      true,
    );
  if (!outcome.lease) {
    const violated = checks.filter((_, i) => outcome.results[i] && !outcome.results[i].passed);
    for (const c of violated) ledger.stats.recordBudget(c.policy, 0, true);
    const retryMs = Math.max(
      0,
      ...outcome.results.map((r) => (r && !r.passed ? r.retryAfterMs : 0)),
    );
    const error = new LlmBudgetExceededError(
      violated.map((c) => c.policy),
      Math.max(1, Math.ceil(retryMs / 1000)),
      violated.map((c) => ({
        name: c.policy,
        kind: c.kind,
        limit: c.limit,
        windowMs: c.periodMs,
      })),
    );
    // Inside an HTTP request the error becomes the response: the same headers a route's 429 has.
    const res = 'req' in payer ? responseOf(payer.req) : undefined;
    if (res && !res.headersSent) {
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
      res.setHeader('Content-Type', 'application/problem+json');
    }
    throw error;
  }
  const settled = outcome.lease;
  return {
    settle: (response) => {
      if (response === undefined) return settled.settle(undefined);
      const meter = new UsageMeter();
      meter.add(response);
      return settled.settle(meter);
    },
  };
}
