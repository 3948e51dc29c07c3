import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';
import { isClientError } from '../common/client-error';
import { onResponseClose, sendEtag } from '../common/http-exchange';
import type { CacheEntry } from './cache-entry';
import { FlightAbandonedError, type Flight, type FlightLease } from './single-flight';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sets a header unless the response already went out (never ERR_HTTP_HEADERS_SENT). On
 * Node's response (`rawResponse`): Express sends it, and Fastify merges it into the headers
 * of its reply (and reads it, as `Content-Type`, before choosing its own).
 */
export function setHeader(res: ServerResponse, name: string, value: string): void {
  if (!res.headersSent) res.setHeader(name, value);
}

/** Removes a header unless the response already went out. */
export function removeHeader(res: ServerResponse, name: string): void {
  if (!res.headersSent) res.removeHeader(name);
}

/** A stored JSON answer: the body as it was serialized, with its ETag. */
export function jsonBody(res: ServerResponse, entry: CacheEntry): string {
  setHeader(res, 'Content-Type', JSON_TYPE);
  if (entry.etag) sendEtag(res, entry.etag);
  return entry.body;
}

/** SSE frames as the body of a non-`@Sse()` route. */
export function sseFile(res: ServerResponse, frames: AsyncIterable<string>): StreamableFile {
  setHeader(res, 'Cache-Control', 'no-cache');
  setHeader(res, 'X-Accel-Buffering', 'no');
  return new StreamableFile(Readable.from(frames, { objectMode: false }), {
    type: 'text/event-stream; charset=utf-8',
  });
}

/** The upstream failed (5xx, 429, timeout, a network error): a stale entry may answer. */
export function upstreamFailed(error: unknown, req: Request): boolean {
  return !isClientError(error, req);
}

const PREPARED = Symbol('nestjs-llm-kit:cache-flight');
type WithFlight = Request & { [PREPARED]?: Flight };

/** Leaves the flight entered before the interceptor ran (an `@Sse()` route's guard) on the request. */
export function prepared(req: Request, flight: Flight): void {
  (req as WithFlight)[PREPARED] = flight;
}

/** The flight `prepared` left, once. */
export function takePrepared(req: Request): Flight | undefined {
  const flight = (req as WithFlight)[PREPARED];
  if (flight) delete (req as WithFlight)[PREPARED];
  return flight;
}

/**
 * Settles a leader's flight once its response is over, whatever happened to it (client gone
 * before the first chunk, a stream Nest never started, a guard that answered): waiters then
 * call upstream themselves instead of waiting on it.
 */
export function watchClose(res: ServerResponse, lease: FlightLease, onAbandon?: () => void): void {
  onResponseClose(res, () => {
    if (lease.done) return;
    onAbandon?.();
    lease.fail(new FlightAbandonedError('the response ended first')).catch(() => undefined);
  });
}
