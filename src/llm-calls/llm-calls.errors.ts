import { HttpException, HttpStatus } from '@nestjs/common';
import { problemBody } from '../throttling/rate-limit-problem';

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
  ) {
    super(
      problemBody(
        `LLM budget ${policies.join(', ')} is spent; retry in ${retryAfterSeconds}s.`,
        violated,
        retryAfterSeconds,
      ),
      HttpStatus.TOO_MANY_REQUESTS,
    );
    this.message =
      `[E_LLM_BUDGET] LLM call refused: budget ${policies.join(', ')} is spent; retry in ` +
      `${retryAfterSeconds}s, or raise the budget in ThrottlingModule.forRoot({ llm }) or the call site's budget option.`;
  }
}

/**
 * A wrapped LLM call made outside any request with no identity: the kit cannot tell whose
 * cache partition and budget it is.
 *
 * @example
 * await runAs({ scope: 'global' }, () => summarize(doc)); // instead of a bare call in a job
 */
export class LlmCallIdentityError extends Error {
  override readonly name = 'LlmCallIdentityError';
  readonly code = 'E_LLM_CALL_IDENTITY';

  constructor(site: string) {
    super(
      `[E_LLM_CALL_IDENTITY] LLM call '${site}' was made outside a request and without an identity. ` +
        "Wrap the job in runAs({ userId }) or runAs({ scope: 'global' }), or pass { userId } / { scope: 'global' } to the call site.",
    );
  }
}
