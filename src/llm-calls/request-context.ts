import type { Request } from 'express';
import {
  callContextStorage as storage,
  type LlmCallContext,
  type LlmCallIdentity,
} from '../common/call-context';
import { resolveUserId } from '../common/request-identity';

export {
  currentCallContext,
  type LlmCallContext,
  type LlmCallIdentity,
} from '../common/call-context';

/**
 * Runs `fn` as `identity`: every wrapped LLM call made inside it (however deep, across
 * awaits) is cached in that identity's partition and charged to its budget. For queue
 * processors, crons and scripts.
 *
 * @example
 * await runAs({ userId: job.data.userId }, () => this.summarizer.summarize(job.data.doc));
 */
export function runAs<T>(identity: LlmCallIdentity, fn: () => T): T {
  checkIdentity(identity);
  return storage.run({ identity }, fn);
}

/** Runs `fn` in the context of a request (the kit's interceptor does this for every handler). */
export function runInRequest<T>(req: Request, fn: () => T): T {
  return storage.run({ req }, fn);
}

/**
 * The user of the current context: the identity's, else the request's (read when asked, so a
 * guard that sets `req.user` after the context was entered is seen).
 */
export function contextUserId(context: LlmCallContext | undefined): string | undefined {
  if (!context) return undefined;
  if (context.identity) return context.identity.userId;
  return context.req ? resolveUserId(context.req) : undefined;
}

/** Throws an `LlmCallIdentityError`-worthy TypeError for an identity that names nobody. */
export function checkIdentity(identity: LlmCallIdentity): void {
  const ok =
    typeof identity === 'object' &&
    identity !== null &&
    ((typeof identity.userId === 'string' && identity.userId.length > 0) ||
      identity.scope === 'global');
  if (!ok)
    throw new TypeError(
      `runAs() needs { userId: '<non-empty string>' } or { scope: 'global' }, got ${describe(identity)}.`,
    );
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  return `an object with keys [${Object.keys(value).join(', ')}]`;
}
