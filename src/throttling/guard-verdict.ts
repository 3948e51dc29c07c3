import type { ExecutionContext, HttpException, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { GuardCheck, GuardResult } from './guard-check';
import { throttlerMessage, writeThrottlerHeaders } from './nest-throttler-checks';
import { writeRateLimitHeaders, type HeaderPolicy } from './rate-limit-headers';
import { graphqlRefusal, tooManyRequests } from './rate-limit-problem';
import type { Evaluation } from './throttling.service';
import type { ResolvedThrottlingOptions } from './throttling-options';
import type { LimitReachedDetail } from './throttling-options.interface';
import type { ThrottlingStats } from './throttling-stats.service';
import { wsRefusal } from './ws-request';
import { traceThrottleVerdict } from '../telemetry/kit-decisions';

/** A refusal in the context's terms: `WsException` on a gateway, GraphQL-ready on a resolver. */
export function refusalIn(context: ExecutionContext, error: HttpException): Error {
  const type = context.getType<'http' | 'graphql' | 'ws' | 'rpc'>();
  return type === 'ws' ? wsRefusal(error) : type === 'graphql' ? graphqlRefusal(error) : error;
}

/**
 * Counts the verdict in the stats (a policy only for its own verdict: a request another
 * policy rejected was neither admitted nor rejected by this one) and writes the rate-limit
 * headers (on a rejection, only of the policies that rejected it).
 */
export function reportVerdict(
  res: ServerResponse | undefined,
  options: ResolvedThrottlingOptions,
  stats: ThrottlingStats,
  checks: GuardCheck[],
  outcome: Evaluation,
): void {
  traceThrottleVerdict(checks, outcome.results, outcome.allowed);
  const headers: HeaderPolicy[] = [];
  checks.forEach((check, i) => {
    const result = outcome.results[i];
    if (check.kind !== 'requests') {
      if (result && !result.passed) stats.recordBudget(check.policy, 0, true);
      return;
    }
    if (outcome.stores[i] !== 'skipped' && (outcome.allowed || (result && !result.passed)))
      stats.recordPolicy(check.policy, outcome.allowed);
    if (
      result &&
      (outcome.allowed || !result.passed) &&
      (!check.throttler || check.throttler.setHeaders)
    )
      headers.push({
        name: check.policy,
        limit: check.limit,
        windowMs: check.periodMs,
        remaining: result.remaining,
        resetMs: result.resetMs,
        ietfOnly: check.throttler !== undefined,
      });
  });
  if (!res) return;
  writeRateLimitHeaders(res, options.headers, headers);
  writeThrottlerHeaders(res, checks, outcome.allowed, outcome.results);
}

/** The 429 of a rejected request, after `onLimitReached` (whose errors are logged, not thrown). */
export async function rejection(
  context: ExecutionContext,
  res: ServerResponse | undefined,
  options: ResolvedThrottlingOptions,
  stats: ThrottlingStats,
  logger: Logger,
  checks: GuardCheck[],
  results: GuardResult[],
): Promise<Error> {
  const violated = checks.filter((_, i) => results[i] && !results[i].passed);
  const retryAfterMs = Math.max(0, ...results.map((r) => (r && !r.passed ? r.retryAfterMs : 0)));
  const detail: LimitReachedDetail = {
    policies: violated.map((c) => c.policy),
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    tracker: violated[0]?.tracker ?? '',
  };
  for (const c of violated) stats.recordRejectedTracker(c.tracker);
  if (options.onLimitReached) {
    try {
      await options.onLimitReached(context, detail);
    } catch (error) {
      logger.error(`onLimitReached threw: ${error instanceof Error ? error.message : 'error'}`);
    }
  }
  const message = await throttlerMessage(context, options, checks, results);
  const policies = violated.map((c) => ({
    name: c.policy,
    kind: c.kind,
    limit: c.limit,
    windowMs: c.periodMs,
  }));
  return refusalIn(context, tooManyRequests(res, message, policies, detail.retryAfterSeconds));
}
