import { AsyncLocalStorage } from 'node:async_hooks';
import type { Request } from 'express';

/**
 * Who an LLM call is made for, when no request is at hand: a user (its entries are
 * partitioned by an HMAC of the id, its budget is `user:<id>`'s) or the whole app
 * (`scope: 'global'`: shared entries, the `global` budget tracker). `tracker` overrides the
 * budget tracker's raw value (hashed before use).
 *
 * @example
 * const identity: LlmCallIdentity = { userId: job.data.userId };
 */
export type LlmCallIdentity =
  | { userId: string; tracker?: string; scope?: undefined }
  | { scope: 'global'; tracker?: string; userId?: undefined };

/** What the store holds: an HTTP/WebSocket/GraphQL request, or an identity given by the caller. */
export interface LlmCallContext {
  req?: Request;
  identity?: LlmCallIdentity;
}

// One small store of our own rather than nestjs-cls: the kit needs one value (the request or
// an identity) and no Nest module, proxy providers or per-request DI; a dependency and a
// second middleware would cost every request more than `AsyncLocalStorage.run` does.
// Shared here: llm-calls enters it (runAs, the request middleware), the cache's call flow
// reads whose partition a call is in.
/** @internal */
export const callContextStorage = new AsyncLocalStorage<LlmCallContext>();

/** The context of the current async call chain, if any. */
export function currentCallContext(): LlmCallContext | undefined {
  return callContextStorage.getStore();
}
