import { HttpException, HttpStatus } from '@nestjs/common';
import { problemBody } from './rate-limit-problem';

/**
 * A ThrottlingModule option that cannot work; the message says how to fix it.
 *
 * @example
 * try { ThrottlingModule.forRoot({ trustProxy: true as never }); } catch (e) { e.code; }
 */
export class ThrottlingOptionsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`[${code}] ${message}`);
    this.name = 'ThrottlingOptionsError';
  }
}

/** Why an option was refused; one small function per message. */
export const optionMessages = {
  trustProxy: (value: unknown) =>
    `trustProxy must be the number of reverse proxies in front of the app (0 or more), got ${String(value)}. ` +
    'Trusting every hop lets any client choose its address by sending X-Forwarded-For: ' +
    'count your proxies (e.g. 1 behind one load balancer) and set that number.',
  positive: (field: string, value: unknown) =>
    `${field} must be a positive finite number, got ${String(value)}. Fix the value in ThrottlingModule.forRoot().`,
  integer: (field: string, value: unknown, min: number, max: number) =>
    `${field} must be an integer from ${min} to ${max}, got ${String(value)}.`,
  oneOf: (field: string, value: unknown, allowed: readonly string[]) =>
    `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}.`,
  unknownPolicy: (name: string, where: string) =>
    `${where} names the policy '${name}', which is neither a preset (standard, expensive, llm) ` +
    'nor in the policies option. Add it to ThrottlingModule.forRoot({ policies }) or pass { limit, ttlMs }.',
};

/** A spent budget, as the 429 body lists it. */
export interface ViolatedBudget {
  name: string;
  kind: 'tokens' | 'usd';
  limit: number;
  windowMs: number;
}

/**
 * An LLM call refused because a budget of its caller is spent (tokens per minute or USD per
 * day). An `HttpException` (429, the same problem body a `@LLMThrottle()` route sends) so a
 * call refused inside an HTTP request answers 429 with no filter to write; elsewhere (a queue
 * job) catch it and retry after `retryAfterSeconds`.
 *
 * @example
 * try { await openai.chat.completions.create(params); }
 * catch (e) { if (e instanceof LlmBudgetExceededError) retryIn(e.retryAfterSeconds); }
 */
export class LlmBudgetExceededError extends HttpException {
  override readonly name = 'LlmBudgetExceededError';
  readonly code = 'E_LLM_BUDGET';

  constructor(
    /** The spent budgets, e.g. ['llm:tokens']. */
    readonly policies: string[],
    /** Seconds until the call would be admitted. */
    readonly retryAfterSeconds: number,
    /** The budgets' limits and windows. */
    readonly violated: ViolatedBudget[] = [],
    /** True when the budgets could not be checked (Redis away, a `closed` policy). */
    readonly unavailable = false,
  ) {
    const what = unavailable
      ? `budget ${policies.join(', ')} cannot be checked (Redis is unavailable and its onRedisError policy is 'closed')`
      : `budget ${policies.join(', ')} is spent`;
    super(
      problemBody(`LLM ${what}; retry in ${retryAfterSeconds}s.`, violated, retryAfterSeconds),
      HttpStatus.TOO_MANY_REQUESTS,
    );
    this.message =
      `[E_LLM_BUDGET] LLM call refused: ${what}; retry in ${retryAfterSeconds}s` +
      (unavailable
        ? ", or choose onRedisError 'local' or 'open' for the policy."
        : ", or raise the budget in ThrottlingModule.forRoot({ llm }) or the call site's budget option.");
  }
}
