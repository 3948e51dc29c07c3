import { setTimeout as delay } from 'node:timers/promises';
import { from, isObservable, lastValueFrom, mergeMap, type Observable, of } from 'rxjs';
import type { RecordedEvent } from './cache-entry';

/** Whether a handler's result is a stream of events (AsyncIterable or Observable). */
export function isEventStream(
  value: unknown,
): value is AsyncIterable<unknown> | Observable<unknown> {
  if (isObservable(value)) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' &&
    !Buffer.isBuffer(value)
  );
}

/** An Observable as an AsyncIterable (unsubscribes when the reader stops early). */
export async function* fromObservable<T>(source: Observable<T>): AsyncIterable<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const subscription = source.subscribe({
    next: (value) => {
      queue.push(value);
      wake?.();
    },
    error: (error: unknown) => {
      failure = { error };
      wake?.();
    },
    complete: () => {
      done = true;
      wake?.();
    },
  });
  try {
    for (;;) {
      if (queue.length > 0) {
        yield queue.shift() as T;
        continue;
      }
      if (failure) throw failure.error;
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    subscription.unsubscribe();
  }
}

/** The `data` of one event: a string as is, `{ data }` (Nest's MessageEvent) unwrapped, else JSON. */
export function eventData(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (typeof chunk === 'object' && chunk !== null && 'data' in chunk && !('choices' in chunk)) {
    const data = (chunk as { data: unknown }).data;
    return typeof data === 'string' ? data : JSON.stringify(data);
  }
  return JSON.stringify(chunk);
}

const frame = (data: string): string => `data: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Sends a handler's stream as SSE while recording it; `onEnd` gets the events and whether
 * the stream finished cleanly (false on an upstream error or a client that went away).
 */
export async function* recordSse(
  source: AsyncIterable<unknown> | Observable<unknown>,
  onEnd: (events: RecordedEvent[], clean: boolean, error?: unknown) => void,
): AsyncIterable<string> {
  const iterable = isObservable(source) ? fromObservable(source) : source;
  const events: RecordedEvent[] = [];
  const started = Date.now();
  let clean = false;
  let failure: unknown;
  try {
    for await (const chunk of iterable) {
      const data = eventData(chunk);
      events.push({ data, atMs: Date.now() - started });
      yield frame(data);
    }
    clean = true;
    yield SSE_DONE;
  } catch (error) {
    failure = error;
    // The client already has a 200 and part of the stream: end it with an error event.
    yield `event: error\ndata: ${JSON.stringify({ error: 'upstream stream failed' })}\n\n`;
  } finally {
    onEnd(events, clean, failure);
  }
}

/** Replays recorded events as SSE, at once or at their recorded pace. */
export async function* replaySse(
  events: readonly RecordedEvent[],
  pace: 'instant' | 'recorded' = 'instant',
): AsyncIterable<string> {
  let at = 0;
  for (const event of events) {
    if (pace === 'recorded' && event.atMs > at) {
      await delay(event.atMs - at);
      at = event.atMs;
    }
    yield frame(event.data);
  }
  yield SSE_DONE;
}

/** What a handler produced: a stream of events, or one value. */
export type HandlerOutput = { events: AsyncIterable<unknown> } | { value: unknown };

/**
 * Runs the handler through the interceptor chain. When the client wants a stream, every
 * emission of the chain is an event (Nest unwraps a returned Observable into its emissions;
 * a returned AsyncIterable is flattened too), and the first one is awaited here so that an
 * error before any output still becomes an HTTP error, not an SSE error event.
 */
export async function handlerOutput(
  output$: Observable<unknown>,
  wantsStream: boolean,
): Promise<HandlerOutput> {
  if (!wantsStream) {
    const value = await lastValueFrom(output$, { defaultValue: undefined });
    return isEventStream(value) ? { events: toAsyncIterable(value) } : { value };
  }
  const flat$ = output$.pipe(mergeMap((value) => (isEventStream(value) ? from(value) : of(value))));
  const iterator = fromObservable(flat$)[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* events(): AsyncIterable<unknown> {
    try {
      if (first.done) return;
      yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { events: events() };
}

function toAsyncIterable(
  source: AsyncIterable<unknown> | Observable<unknown>,
): AsyncIterable<unknown> {
  return isObservable(source) ? fromObservable(source) : source;
}
