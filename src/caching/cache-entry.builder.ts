import type { PriceTable } from '../llm/llm-pricing';
import { digest } from '../redis/redis-keys';
import { finishReason, responseText } from '../llm/llm-response';
import { estimateTokens, estimateValueTokens, type LlmUsage, readUsage } from '../llm/llm-usage';
import type { CacheEntry, RecordedEvent } from './cache-entry';
import type { CacheLlmOptions } from './caching-options.interface';

/** What decides whether a response may be stored. */
export type CacheabilityOptions = Pick<
  CacheLlmOptions,
  'allowLength' | 'allowContentFilter' | 'cacheIf'
>;

/** What goes into a new entry besides the response. */
export interface EntryOptions {
  /** Lifetime in ms; the service fills in the module's default. */
  ttlMs?: number;
  tags?: readonly string[];
  usage?: (response: unknown) => LlmUsage | undefined;
  events?: RecordedEvent[];
  /** Keep the entry this long past its TTL, in ms, to answer upstream errors (STALE). */
  staleIfErrorMs?: number;
}

/**
 * Whether a response may be stored: not empty, no `length`/`content_filter` finish unless
 * allowed, and `cacheIf` agrees.
 *
 * @example
 * isCacheable({ choices: [{ message: { content: 'Hi' }, finish_reason: 'length' }] }, {}) // false
 */
export function isCacheable(response: unknown, options: CacheabilityOptions): boolean {
  if (response === undefined || response === null || responseText(response).length === 0)
    return false;
  const reason = finishReason(response);
  if (reason === 'length' && !options.allowLength) return false;
  if (reason === 'content_filter' && !options.allowContentFilter) return false;
  return options.cacheIf ? options.cacheIf(response) : true;
}

/**
 * The entry for a response with its savings ledger (usage reported or estimated, cost at the
 * model's price); undefined when the response cannot be serialized.
 *
 * @example
 * buildEntry(new PriceTable(), params, completion, 1200, { ttlMs: 3_600_000 })
 */
export function buildEntry(
  pricing: PriceTable,
  params: unknown,
  response: unknown,
  latencyMs: number,
  options: EntryOptions & { ttlMs: number },
): CacheEntry | undefined {
  let body: string | undefined;
  try {
    body = JSON.stringify(response);
  } catch {
    return undefined;
  }
  if (body === undefined) return undefined;
  const reported = options.usage?.(response) ?? readUsage(response);
  const usage: LlmUsage = reported ?? {
    inputTokens: estimateValueTokens(params),
    cachedInputTokens: 0,
    outputTokens: estimateTokens(responseText(response)),
    estimated: true,
  };
  const model = modelOf(response) ?? modelOf(params) ?? 'unknown';
  const { known } = pricing.resolve(model);
  const now = Date.now();
  const staleMs = options.staleIfErrorMs ?? 0;
  return {
    body,
    status: 200,
    createdAt: now,
    expiresAt: now + options.ttlMs + staleMs,
    ...(staleMs > 0 ? { freshUntil: now + options.ttlMs } : {}),
    model,
    usage,
    latencyMs,
    costUsd: pricing.cost(model, usage),
    exact: known && !usage.estimated,
    events: options.events,
    tags: options.tags?.length ? [...options.tags] : undefined,
    // Computed once here, sent with every JSON answer of the entry: Express then skips
    // hashing the body on each hit, and a client's matching If-None-Match gets a 304 (from
    // Express's res.send, or on Fastify from CachingModule's onSend hook).
    etag: `"${digest(body, 32)}"`,
  };
}

/**
 * The `model` field of a request or response, if it is a string (at most 100 characters).
 *
 * @example
 * modelOf({ model: 'gpt-4o' }) // 'gpt-4o'
 */
export function modelOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const model = (value as { model?: unknown }).model;
  return typeof model === 'string' && model.length > 0 ? model.slice(0, 100) : undefined;
}
