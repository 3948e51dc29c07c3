import type { CacheEntry, RecordedEvent } from '../caching/cache-entry';
import { modelOf } from '../caching/cache-entry.builder';
import { assembleCompletion, completionEvents } from '../caching/chat-stream.convert';
import type { LlmCacheCallOptions, LlmCacheService } from '../caching/llm-cache.service';
import type { CacheOutcome } from '../caching/llm-cache.stats';
import { FlightAbandonedError, type FlightLease } from '../caching/single-flight';
import type { CallLease } from '../throttling/call-budget';
import { CallStream, replayChunks } from './call-stream';
import { currentCallContext } from './request-context';

/** What a cached call adds to `LlmCacheService`'s call options. */
export interface CachedCallOptions extends LlmCacheCallOptions {
  /** Call-site name for the stats (`bySite`). */
  site?: string;
  /** Runs right before this caller calls upstream (a miss it leads, or a bypass); may throw to refuse. @internal */
  beforeUpstream?: () => Promise<CallLease | undefined>;
  /** Skip the cache (budgets and stats still apply). */
  skipCache?: boolean;
  /** Called with the outcome of every call (for the wrappers' tests and logs). @internal */
  onOutcome?: (outcome: CacheOutcome | 'disabled') => void;
}

/** What a streamed cached call adds. */
export interface CachedStreamOptions<C> extends CachedCallOptions {
  /** The response the chunks add up to (usage, finish reason, text). @default OpenAI chat chunks joined */
  assemble?: (chunks: readonly C[]) => unknown;
  /** A chunk parsed back from its JSON (e.g. Date fields revived). @default as parsed */
  revive?: (chunk: unknown) => C;
  /** A hit replays at once or at the recorded pace. @default 'instant' */
  replay?: 'instant' | 'recorded';
}

type StreamSource<C> = AsyncIterable<C> & { controller?: AbortController };

/**
 * Fills the partition of a call from the async context when the caller gave none: the
 * request's user inside a request, the identity of `runAs()`.
 */
export function withContext<T extends LlmCacheCallOptions>(options: T): T {
  if (options.req || options.userId !== undefined || options.scope !== undefined) return options;
  const context = currentCallContext();
  if (context?.identity)
    return context.identity.scope === 'global'
      ? { ...options, scope: 'global' }
      : { ...options, userId: context.identity.userId };
  return context?.req ? { ...options, req: context.req } : options;
}

/** The shared flow of both call kinds: key, lookup, single-flight; returns how to answer. */
async function decide(
  cache: LlmCacheService,
  params: unknown,
  options: CachedCallOptions,
): Promise<
  | { entry: CacheEntry }
  | {
      upstream: FlightLease | undefined;
      hash: string | undefined;
      outcome: CacheOutcome | 'disabled';
    }
> {
  const record = (outcome: CacheOutcome, model: string | undefined, entry?: CacheEntry): void => {
    cache.record(outcome, model, undefined, entry, options.site);
    options.onOutcome?.(outcome);
  };
  let hash: string | undefined;
  try {
    hash = options.skipCache ? undefined : cache.keyOf(params, options);
  } catch {
    // Parameters that cannot be a key (binary parts, cycles): served without the cache.
    hash = undefined;
  }
  if (!cache.options.enabled || hash === undefined) {
    options.onOutcome?.('disabled');
    return { upstream: undefined, hash: undefined, outcome: 'disabled' };
  }
  const model = modelOf(params);
  const found = await cache.lookup(hash);
  if (found.entry) {
    record('hits', found.entry.model, found.entry);
    return { entry: found.entry };
  }
  if (found.error !== undefined) {
    record('bypassed', model);
    return { upstream: undefined, hash: undefined, outcome: 'bypassed' };
  }
  const flight = await cache.flight.enter(hash);
  if ('follow' in flight) {
    try {
      const entry = await flight.follow;
      record('coalesced', entry.model, entry);
      return { entry };
    } catch (error) {
      // The leader gave up (its reader went away, or its answer could not be shared).
      if (!(error instanceof FlightAbandonedError)) throw error;
      record('misses', model);
      return { upstream: undefined, hash: undefined, outcome: 'misses' };
    }
  }
  record('misses', model);
  return { upstream: flight.lead, hash, outcome: 'misses' };
}

/** Reserves the budget as the leader; a refusal is handed to the waiters too. */
async function reserve(
  options: CachedCallOptions,
  lease: FlightLease | undefined,
): Promise<CallLease | undefined> {
  try {
    return await options.beforeUpstream?.();
  } catch (error) {
    await lease?.fail(error).catch(() => undefined);
    throw error;
  }
}

/**
 * A JSON call through the cache: the stored answer on a hit, else `fn()`'s, stored when
 * cacheable; concurrent identical calls share one `fn()` (in process and across instances).
 */
export async function cachedValue<T>(
  cache: LlmCacheService,
  params: unknown,
  fn: () => Promise<T>,
  callOptions: CachedCallOptions = {},
): Promise<T> {
  const options = withContext(callOptions);
  const decision = await decide(cache, params, options);
  if ('entry' in decision) return JSON.parse(decision.entry.body) as T;
  const { upstream: lease, hash } = decision;
  const budget = await reserve(options, lease);
  const started = Date.now();
  let response: T;
  try {
    response = await fn();
  } catch (error) {
    await budget?.settle(undefined);
    await lease?.fail(error).catch(() => undefined);
    throw error;
  }
  await budget?.settle(response);
  if (hash === undefined) return response;
  const entry = cache.toEntry(params, response, Date.now() - started, options);
  if (entry) await cache.settle({ lead: lease! }, hash, entry, cache.cacheable(response, options));
  else await lease!.fail(new FlightAbandonedError()).catch(() => undefined);
  return response;
}

/**
 * A streamed call through the cache. A miss yields `fn()`'s chunks as they come and records
 * them; only a stream that finishes cleanly (and is cacheable) is stored. A hit replays the
 * recorded chunks as objects. The result is a `CallStream` (an SDK-like stream).
 */
export async function cachedStream<C>(
  cache: LlmCacheService,
  params: unknown,
  fn: () => Promise<StreamSource<C>> | StreamSource<C>,
  callOptions: CachedStreamOptions<C> = {},
): Promise<CallStream<C>> {
  const options = withContext(callOptions);
  const revive = options.revive ?? ((chunk: unknown) => chunk as C);
  const decision = await decide(cache, params, options);
  if ('entry' in decision) {
    const events = decision.entry.events ?? completionEvents(decision.entry.body);
    const controller = new AbortController();
    const pace = options.replay ?? 'instant';
    return new CallStream(
      () => replayChunks(events, revive, pace, controller.signal)[Symbol.asyncIterator](),
      controller,
    );
  }
  const { upstream: lease, hash } = decision;
  const budget = await reserve(options, lease);
  const started = Date.now();
  let source: StreamSource<C>;
  try {
    source = await fn();
  } catch (error) {
    await budget?.settle(undefined);
    await lease?.fail(error).catch(() => undefined);
    throw error;
  }
  const assemble =
    options.assemble ??
    ((chunks: readonly C[]) =>
      assembleCompletion(chunks.map((chunk) => ({ data: JSON.stringify(chunk), atMs: 0 }))));
  const finish = async (chunks: C[], events: RecordedEvent[], clean: boolean): Promise<void> => {
    const response = chunks.length > 0 ? assemble(chunks) : undefined;
    await budget?.settle(response);
    if (hash === undefined || !lease) return;
    const entry =
      clean && response !== undefined
        ? cache.toEntry(params, response, Date.now() - started, { ...options, events })
        : undefined;
    if (entry) await cache.settle({ lead: lease }, hash, entry, cache.cacheable(response, options));
    else await lease.fail(new FlightAbandonedError()).catch(() => undefined);
  };
  // A stream nobody reads would hold its waiters (and lock) forever: give it up after the
  // lock's lifetime; waiters then call upstream themselves.
  let reading = false;
  if (lease) {
    const timer = setTimeout(() => {
      if (!reading) void lease.fail(new FlightAbandonedError()).catch(() => undefined);
    }, cache.options.coalesce.lockTtlMs);
    timer.unref();
  }
  return new CallStream(() => {
    reading = true;
    return record(source, finish)[Symbol.asyncIterator]();
  }, source.controller ?? new AbortController());
}

/** Yields the source's chunks while recording them; `finish` runs once, however it ends. */
async function* record<C>(
  source: AsyncIterable<C>,
  finish: (chunks: C[], events: RecordedEvent[], clean: boolean) => Promise<void>,
): AsyncGenerator<C> {
  const chunks: C[] = [];
  const events: RecordedEvent[] = [];
  const started = Date.now();
  let clean = false;
  try {
    for await (const chunk of source) {
      chunks.push(chunk);
      events.push({ data: JSON.stringify(chunk), atMs: Date.now() - started });
      yield chunk;
    }
    clean = true;
  } finally {
    await finish(chunks, events, clean);
  }
}
