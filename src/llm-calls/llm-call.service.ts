import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DEFAULT_KEY_DENY_LIST } from '../caching/cache-key';
import type { CachedCallOptions, CachedStreamOptions } from '../caching/cached-call.options';
import { checkSiteName } from '../caching/call-site';
import type { CallStream } from '../caching/call-stream';
import { LlmCacheService } from '../caching/llm-cache.service';
import { ChargeLedger } from '../throttling/charge-ledger';
import { type CallLease, type CallPayer, reserveCallBudget } from '../throttling/call-budget';
import type { LlmCallSiteOptions } from './llm-call-site.interface';
import { LlmCallIdentityError } from './llm-calls.errors';
import { currentCallContext } from './request-context';

/** How a wrapper streams: what the chunks add up to, and how a parsed chunk comes back. */
export type StreamShape<C> = Pick<CachedStreamOptions<C>, 'assemble' | 'revive'>;

/**
 * Caches, coalesces, budgets and counts LLM calls where they are made, for the caller of
 * the current request (or `runAs()` identity). The provider wrappers (`wrapOpenAI`,
 * `wrapAnthropic`) and the AI SDK middleware call it; use it directly for other clients.
 *
 * @example
 * const answer = await llmCalls.call(params, () => client.complete(params), { name: 'titles' });
 * const stream = await llmCalls.stream(params, () => client.stream(params), { name: 'chat' });
 */
@Injectable()
export class LlmCallService implements OnModuleInit {
  private ledger?: ChargeLedger;

  constructor(
    readonly cache: LlmCacheService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Budgets apply when ThrottlingModule is in the app (it need not be imported here). */
  onModuleInit(): void {
    this.ledger = this.optional(ChargeLedger);
  }

  /** One JSON call: cached answer, or `fn()`'s (budgeted, stored when cacheable). */
  async call<T>(params: unknown, fn: () => Promise<T>, site: LlmCallSiteOptions): Promise<T> {
    return this.cache.wrap(params, fn, this.optionsOf(params, site));
  }

  /** One streamed call: recorded chunks replayed on a hit, `fn()`'s recorded on a miss. */
  async stream<C>(
    params: unknown,
    fn: () => Promise<AsyncIterable<C>> | AsyncIterable<C>,
    site: LlmCallSiteOptions,
    shape: StreamShape<C> = {},
  ): Promise<CallStream<C>> {
    return this.cache.wrapStream(params, fn, {
      ...this.optionsOf(params, site),
      ...shape,
      replay: site.replay,
    });
  }

  /** The cache options of a call: whose partition, whose budget, which site. */
  private optionsOf(params: unknown, site: LlmCallSiteOptions): CachedCallOptions {
    const name = checkSiteName(site.name);
    const context = currentCallContext();
    const identity = context?.identity;
    let payer: CallPayer;
    const options: CachedCallOptions = {
      site: name,
      ttlMs: site.ttlMs,
      tags: site.tags,
      allowLength: site.allowLength,
      allowContentFilter: site.allowContentFilter,
      cacheIf: site.cacheIf,
      usage: site.usage,
      ignore: site.ignore ? [...DEFAULT_KEY_DENY_LIST, ...site.ignore] : undefined,
    };
    if (site.userId !== undefined) {
      options.userId = site.userId;
      options.scope = site.scope;
      payer = { tracker: `user:${site.userId}` };
    } else if (identity) {
      options.scope = site.scope ?? (identity.scope === 'global' ? 'global' : undefined);
      options.userId = identity.userId;
      payer = {
        tracker: identity.tracker ?? (identity.userId ? `user:${identity.userId}` : 'global'),
      };
    } else if (context?.req) {
      options.req = context.req;
      options.scope = site.scope;
      payer = { req: context.req };
    } else if (site.scope === 'global') {
      options.scope = 'global';
      payer = { tracker: 'global' };
    } else {
      throw new LlmCallIdentityError(name);
    }
    if (site.cache === false) options.skipCache = true;
    const ledger = this.ledger;
    if (ledger && site.budget !== false) {
      const budget = site.budget;
      options.beforeUpstream = (): Promise<CallLease | undefined> =>
        reserveCallBudget(ledger, params, payer, budget);
    }
    return options;
  }

  private optional<T>(token: new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(token, { strict: false });
    } catch {
      return undefined;
    }
  }
}
