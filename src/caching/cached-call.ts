import { currentCallContext } from '../common/call-context';
import { traceCoalescedWait } from '../telemetry/kit-decisions';
import { type LlmCall, startLlmCall } from '../telemetry/llm-call.span';
import type { CacheEntry, RecordedEvent } from './cache-entry';
import { modelOf } from './cache-entry.builder';
import { CallStream, replayChunks } from './call-stream';
import { assembleCompletion, completionEvents } from './chat-stream.convert';
import type { CacheLookup } from './cache-lookup';
import type { LlmCacheCallOptions } from './llm-cache-call.options';
import type { CachedCallOptions, CachedStreamOptions, UpstreamLease } from './cached-call.options';
import type { CacheOutcome, LlmCacheStats } from './llm-cache.stats';
import { FlightAbandonedError, type FlightLease, type SingleFlight } from './single-flight';
import { StreamRecorder } from './stream-recorder';

/** What the call flow needs of `LlmCacheService` (it passes itself). */
export interface CallCache {
  readonly options: { enabled: boolean; coalesce: { lockTtlMs: number } };
  readonly flight: SingleFlight;
  keyOf(params: unknown, options: LlmCacheCallOptions): string | undefined;
  lookup(hash: string): Promise<CacheLookup>;
  record: LlmCacheStats['record'];
  toEntry(
    params: unknown,
    response: unknown,
    latencyMs: number,
    options: LlmCacheCallOptions & { events?: RecordedEvent[] },
  ): CacheEntry | undefined;
  cacheable(response: unknown, options: LlmCacheCallOptions): boolean;
  settle(lease: FlightLease, hash: string, entry: CacheEntry, store: boolean): Promise<void>;
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

/** How a call goes upstream: under a flight lease (or alone), storing its answer or not. */
interface Upstream {
  upstream: FlightLease | undefined;
  hash: string | undefined;
  /** Whether a clean answer is stored (false while the store is failing). */
  store: boolean;
  outcome: CacheOutcome | 'disabled';
}

/** The shared flow of both call kinds: key, lookup, single-flight; returns how to answer. */
async function decide(
  cache: CallCache,
  params: unknown,
  options: CachedCallOptions,
): Promise<{ entry: CacheEntry } | Upstream> {
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
    return { upstream: undefined, hash: undefined, store: false, outcome: 'disabled' };
  }
  const model = modelOf(params);
  const found = await cache.lookup(hash);
  if (found.entry) {
    record('hits', found.entry.model, found.entry);
    return { entry: found.entry };
  }
  // The store failed: the flight is this process's only (identical misses still make one
  // call), and nothing is stored.
  const failing = found.error !== undefined;
  const waitedFromMs = Date.now();
  const joined = await cache.flight.join(hash, failing);
  if ('entry' in joined) {
    traceCoalescedWait(waitedFromMs);
    record('coalesced', joined.entry.model, joined.entry);
    return { entry: joined.entry };
  }
  const outcome = failing ? 'bypassed' : 'misses';
  record(outcome, model);
  if ('alone' in joined) return { upstream: undefined, hash: undefined, store: false, outcome };
  return { upstream: joined.lead, hash, store: !failing, outcome };
}

/**
 * Reserves the budget as the leader. A refusal is this caller's own: the waiters are let go
 * to run their own admission (one of them leads), never handed this caller's error.
 */
async function reserve(
  options: CachedCallOptions,
  lease: FlightLease | undefined,
): Promise<UpstreamLease | undefined> {
  try {
    return await options.beforeUpstream?.();
  } catch (error) {
    await lease?.fail(new FlightAbandonedError('the leader was refused')).catch(() => undefined);
    throw error;
  }
}

/**
 * This caller's upstream call. A throw refunds its budget and fails its flight (its waiters
 * then run their own admission or share an upstream error), and reaches the caller.
 */
async function callUpstream<R>(
  fn: () => Promise<R> | R,
  budget: UpstreamLease | undefined,
  lease: FlightLease | undefined,
): Promise<R> {
  try {
    return await fn();
  } catch (error) {
    await budget?.settle(undefined);
    await lease?.fail(error).catch(() => undefined);
    throw error;
  }
}

/**
 * A JSON call through the cache: the stored answer on a hit, else `fn()`'s, stored when
 * cacheable; concurrent identical calls share one `fn()` (in process and across instances).
 * Traced as one LLM call (its span active through the flow) when the app has OpenTelemetry.
 */
export async function cachedValue<T>(
  cache: CallCache,
  params: unknown,
  fn: () => Promise<T>,
  callOptions: CachedCallOptions = {},
): Promise<T> {
  const options = withContext(callOptions);
  const call = startLlmCall(params, options);
  if (!call) return valueFlow(cache, params, fn, options);
  const response = await traced(call, () =>
    valueFlow(cache, params, () => call.callUpstream(fn), options),
  );
  call.end(response);
  return response;
}

/** `run` with the call's span active; a failure is recorded on the span, then thrown. */
async function traced<T>(call: LlmCall, run: () => Promise<T>): Promise<T> {
  try {
    return await call.within(run);
  } catch (error) {
    call.fail(error);
    throw error;
  }
}

async function valueFlow<T>(
  cache: CallCache,
  params: unknown,
  fn: () => Promise<T>,
  options: CachedCallOptions,
): Promise<T> {
  const decision = await decide(cache, params, options);
  if ('entry' in decision) return JSON.parse(decision.entry.body) as T;
  const { upstream: lease, hash, store } = decision;
  const budget = await reserve(options, lease);
  const started = Date.now();
  const response = await callUpstream(fn, budget, lease);
  await budget?.settle(response);
  if (hash === undefined || !lease) return response;
  const entry = cache.toEntry(params, response, Date.now() - started, options);
  if (entry) await cache.settle(lease, hash, entry, store && cache.cacheable(response, options));
  else await lease.fail(new FlightAbandonedError()).catch(() => undefined);
  return response;
}

/**
 * A streamed call through the cache. A miss yields `fn()`'s chunks as they come and records
 * them; only a stream that finishes cleanly (and is cacheable) is stored. A hit replays the
 * recorded chunks as objects. The result is a `CallStream` (an SDK-like stream).
 */
export async function cachedStream<C>(
  cache: CallCache,
  params: unknown,
  fn: () => Promise<StreamSource<C>> | StreamSource<C>,
  callOptions: CachedStreamOptions<C> = {},
): Promise<CallStream<C>> {
  const options = withContext(callOptions);
  const call = startLlmCall(params, options);
  if (!call) return streamFlow(cache, params, fn, options);
  return traced(call, () =>
    streamFlow(cache, params, () => call.callUpstream(fn, true), options, call),
  );
}

/** The stream flow; its span (if any) ends on a hit at once, on a miss when the stream ends. */
async function streamFlow<C>(
  cache: CallCache,
  params: unknown,
  fn: () => Promise<StreamSource<C>> | StreamSource<C>,
  options: CachedStreamOptions<C>,
  call?: LlmCall,
): Promise<CallStream<C>> {
  const revive = options.revive ?? ((chunk: unknown) => chunk as C);
  const decision = await decide(cache, params, options);
  if ('entry' in decision) {
    const events = decision.entry.events ?? completionEvents(decision.entry.body);
    const controller = new AbortController();
    const pace = options.replay ?? 'instant';
    call?.end();
    return new CallStream(
      () => replayChunks(events, revive, pace, controller.signal)[Symbol.asyncIterator](),
      controller,
    );
  }
  const { upstream: lease, hash, store } = decision;
  const budget = await reserve(options, lease);
  const started = Date.now();
  const source = await callUpstream(fn, budget, lease);
  const assemble =
    options.assemble ??
    ((chunks: readonly C[]) =>
      assembleCompletion(chunks.map((chunk) => ({ data: JSON.stringify(chunk), atMs: 0 }))));
  const finish = async (chunks: C[], events: RecordedEvent[], clean: boolean): Promise<void> => {
    const response = chunks.length > 0 ? assemble(chunks) : undefined;
    // Read wherever the caller reads the stream: the settle is still this call's.
    await (call ? call.within(() => budget?.settle(response)) : budget?.settle(response));
    call?.end(response);
    if (hash === undefined || !lease) return;
    const entry =
      clean && response !== undefined
        ? cache.toEntry(params, response, Date.now() - started, { ...options, events })
        : undefined;
    if (entry) await cache.settle(lease, hash, entry, store && cache.cacheable(response, options));
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
    const recorder = new StreamRecorder<C>(
      (chunk) => JSON.stringify(chunk),
      ({ chunks, events, clean }) => finish(chunks, events, clean),
    );
    return recorder.record(source)[Symbol.asyncIterator]();
  }, source.controller ?? new AbortController());
}
