import type { Reflector } from '@nestjs/core';
import { PriceTable } from '../llm/llm-pricing';
import {
  DAY_MS,
  LLM_THROTTLE_METADATA,
  MICRO_USD,
  MINUTE_MS,
  RATE_LIMIT_METADATA,
  SKIP_RATE_LIMIT_METADATA,
} from './throttling.internal-constants';
import { planThrottlers, type RouteThrottler } from './nest-throttlers';
import { optionMessages, ThrottlingOptionsError } from './throttling.errors';
import {
  resolvePolicy,
  type ResolvedPolicy,
  type ResolvedThrottlingOptions,
} from './throttling-options';
import type { InlineRateLimit, LlmThrottleOptions, Tracker } from './throttling-options.interface';

/** A budget of an `@LLMThrottle` route, in integer units (tokens, or micro-USD). */
export interface BudgetPlan {
  name: string;
  kind: 'tokens' | 'usd';
  limit: number;
  periodMs: number;
  by: Tracker;
  onRedisError: ResolvedPolicy['onRedisError'];
}

/** Everything the guard needs to know about a route, computed once per handler. */
export interface RoutePlan {
  /** Limits that always apply (global, `@RateLimit`). */
  requests: ResolvedPolicy[];
  /** `@nestjs/throttler`'s throttlers that apply (not `@SkipThrottle()`ed). */
  throttlers: RouteThrottler[];
  /** The `@LLMThrottle` part, skipped for cache hits. */
  llm?: {
    request: ResolvedPolicy;
    budgets: BudgetPlan[];
    countCacheHits: boolean;
    defaultMaxTokens: number;
    defaultModel: string;
  };
}

/** Reads a route's decorators and resolves them against the module options; throws on unknown names. */
export function planRoute(
  reflector: Reflector,
  targets: [handler: object, controller: object],
  options: ResolvedThrottlingOptions,
  where: string,
): RoutePlan {
  const targetList = targets as unknown as (() => void)[];
  const throttlers = planThrottlers(reflector, targetList, options.throttlers, where);
  if (reflector.getAllAndOverride<boolean>(SKIP_RATE_LIMIT_METADATA, targetList))
    return { requests: [], throttlers: [] };
  const defaults = { tracker: options.tracker, onRedisError: options.onRedisError };
  const named = (name: string, site: string): ResolvedPolicy => {
    const policy = options.policies[name];
    if (!policy)
      throw new ThrottlingOptionsError(
        'E_THROTTLE_POLICY',
        optionMessages.unknownPolicy(name, site),
      );
    return policy;
  };
  const requests: ResolvedPolicy[] = options.global ? [options.global] : [];
  const limits = reflector.getAllAndOverride<(string | InlineRateLimit)[] | undefined>(
    RATE_LIMIT_METADATA,
    targetList,
  );
  for (const [i, limit] of (limits ?? []).entries()) {
    const site = `@RateLimit() on ${where}`;
    requests.push(
      typeof limit === 'string'
        ? named(limit, site)
        : resolvePolicy(limit.name ?? `${where}#${i}`, limit, defaults, site),
    );
  }
  const llm = reflector.getAllAndOverride<LlmThrottleOptions | undefined>(
    LLM_THROTTLE_METADATA,
    targetList,
  );
  if (!llm) return { requests, throttlers };
  const base = named(llm.policy ?? 'llm', `@LLMThrottle() on ${where}`);
  const request = { ...base, by: llm.by ?? base.by };
  const merged = { ...options.llm, ...definedOnly(llm) };
  const budgets: BudgetPlan[] = [];
  const budget = { by: request.by, onRedisError: request.onRedisError };
  if (merged.tokensPerMinute !== undefined)
    budgets.push({
      name: `${request.name}:tokens`,
      kind: 'tokens',
      limit: checkBudget('tokensPerMinute', merged.tokensPerMinute, where),
      periodMs: MINUTE_MS,
      ...budget,
    });
  if (merged.usdPerDay !== undefined)
    budgets.push({
      name: `${request.name}:usd`,
      kind: 'usd',
      limit: Math.round(checkBudget('usdPerDay', merged.usdPerDay, where) * MICRO_USD),
      periodMs: DAY_MS,
      ...budget,
    });
  return {
    requests,
    throttlers,
    llm: {
      request,
      budgets,
      countCacheHits: merged.countCacheHits,
      defaultMaxTokens: merged.defaultMaxTokens,
      defaultModel: merged.defaultModel,
    },
  };
}

function checkBudget(field: string, value: number, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ThrottlingOptionsError(
      'E_THROTTLE_NUMBER',
      optionMessages.positive(`@LLMThrottle({ ${field} }) on ${where}`, value),
    );
  return value;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The price table of dollar budgets (shipped prices plus the `pricing` overrides). */
export const priceTableOf = (options: ResolvedThrottlingOptions): PriceTable =>
  new PriceTable(options.pricing, options.unknownModelPrice);
