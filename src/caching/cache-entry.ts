import type { LlmUsage } from '../llm/llm-usage';

/**
 * One recorded SSE event: its `data`, when it came (ms after the stream started) and, for
 * `@Sse()` routes, the other fields of Nest's `MessageEvent`.
 */
export interface RecordedEvent {
  data: string;
  atMs: number;
  type?: string;
  id?: string;
  retry?: number;
  comment?: string;
  /** A `MessageEvent` without `data`. */
  bare?: boolean;
}

/** A cached response and its savings ledger. Immutable once stored. */
export interface CacheEntry {
  /** The response body, serialized once (JSON), sent as is on every hit. */
  body: string;
  status: number;
  /** When it was stored, ms since the epoch. */
  createdAt: number;
  /** When it expires, ms since the epoch (with `staleIfErrorMs`: when it may no longer be served on error). */
  expiresAt: number;
  /** With `staleIfErrorMs`: when it stops being fresh (a miss, kept to answer upstream errors). */
  freshUntil?: number;
  model: string;
  usage: LlmUsage;
  /** How long the upstream call took, in ms. */
  latencyMs: number;
  /** What the upstream call cost, USD. */
  costUsd: number;
  /** False when the cost used estimated usage or the unknown-model price. */
  exact: boolean;
  /** The SSE events, when the entry was recorded from a stream. */
  events?: RecordedEvent[];
  tags?: string[];
  /** The ETag of the entry's JSON answers (`@CacheLLM`: a digest of the body; `@CacheApi`: the upstream's). */
  etag?: string;
  /** `@CacheApi` entries: the upstream's Last-Modified. */
  lastModified?: string;
}

/**
 * Whether an entry may answer a request (not only an upstream error).
 *
 * @example
 * if (entry && isFresh(entry)) return entry.body;
 */
export function isFresh(entry: CacheEntry, now = Date.now()): boolean {
  return (entry.freshUntil ?? entry.expiresAt) > now;
}

type Meta = Omit<CacheEntry, 'body' | 'events'> & { bodyLength: number; hasEvents: boolean };

/**
 * The stored form: one line of metadata JSON, then the body as it was serialized, then the
 * events; a hit parses only the small metadata line and the body goes out untouched.
 */
export function serializeEntry(entry: CacheEntry): string {
  const { body, events, ...rest } = entry;
  const meta: Meta = { ...rest, bodyLength: body.length, hasEvents: events !== undefined };
  return `${JSON.stringify(meta)}\n${body}${events ? JSON.stringify(events) : ''}`;
}

/** Parses a stored entry; throws on a corrupt one. */
export function parseEntry(raw: string): CacheEntry {
  const newline = raw.indexOf('\n');
  if (newline < 0) throw new Error('corrupt cache entry: no metadata line');
  const { bodyLength, hasEvents, ...meta } = JSON.parse(raw.slice(0, newline)) as Meta;
  if (typeof bodyLength !== 'number' || typeof meta.expiresAt !== 'number')
    throw new Error('corrupt cache entry: bad metadata');
  const start = newline + 1;
  const body = raw.slice(start, start + bodyLength);
  if (body.length !== bodyLength) throw new Error('corrupt cache entry: truncated body');
  const entry: CacheEntry = { ...meta, body };
  if (hasEvents) entry.events = JSON.parse(raw.slice(start + bodyLength)) as RecordedEvent[];
  return entry;
}
