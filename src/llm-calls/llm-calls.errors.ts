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
