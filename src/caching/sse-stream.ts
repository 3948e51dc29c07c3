import { StreamableFile } from '@nestjs/common';
import { Stream } from 'node:stream';
import { isObservable, type Observable } from 'rxjs';
import type { RecordedEvent } from './cache-entry';
import { paced } from './replay-pacer';
import { StreamRecorder } from './stream-recorder';

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
  onEnd: (events: RecordedEvent[], clean: boolean) => void,
): AsyncIterable<string> {
  const recorder = new StreamRecorder<unknown>(eventData, ({ events, clean }) =>
    onEnd(events, clean),
  );
  try {
    for await (const _ of recorder.record(toAsyncIterable(source)))
      yield frame(recorder.last!.data);
    yield SSE_DONE;
  } catch {
    // The client already has a 200 and part of the stream: end it with an error event.
    yield `event: error\ndata: ${JSON.stringify({ error: 'upstream stream failed' })}\n\n`;
  } finally {
    // A reader gone before the source ended: the recording ends as not clean.
    await recorder.end(false);
  }
}

/** Replays recorded events as SSE, at once or at their recorded pace. */
export async function* replaySse(
  events: readonly RecordedEvent[],
  pace: 'instant' | 'recorded' = 'instant',
): AsyncIterable<string> {
  for await (const event of paced(events, pace)) yield frame(event.data);
  yield SSE_DONE;
}

/** What a handler produced: a stream of events (with a way to stop reading it), or one value. */
export type HandlerOutput =
  { events: AsyncIterable<unknown>; cancel(): void } | { value: unknown } | { bytes: unknown };

/**
 * A value Nest sends as bytes (a `StreamableFile`, a Node or web stream, a Buffer): not an
 * LLM response; routes returning one are bypassed.
 */
export function isBytes(value: unknown): boolean {
  return (
    value instanceof StreamableFile ||
    value instanceof Stream ||
    Buffer.isBuffer(value) ||
    value instanceof Uint8Array ||
    (typeof ReadableStream !== 'undefined' && value instanceof ReadableStream)
  );
}

/** A chat completion (not a chunk): it answers a stream request as its two replay events. */
function isCompletion(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const choices = (value as { choices?: unknown }).choices;
  return (
    Array.isArray(choices) &&
    typeof choices[0] === 'object' &&
    choices[0] !== null &&
    'message' in choices[0]
  );
}

/**
 * Runs the handler through the interceptor chain. A returned stream (AsyncIterable, SDK
 * stream, Observable: Nest passes an Observable's emissions one by one) becomes `events`,
 * its first event awaited here so that an error before any output is still an HTTP error;
 * a value that is a byte stream becomes `bytes`; anything else is one `value`. With
 * `wantsStream` false a stream is read to its end first (the caller then assembles it).
 */
export async function handlerOutput(
  output$: Observable<unknown>,
  wantsStream: boolean,
): Promise<HandlerOutput> {
  const iterator = fromObservable(output$)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return { value: undefined };
  const read: unknown[] = [first.value];
  const head: unknown = first.value;
  if (isBytes(head) || (!isEventStream(head) && wantsStream && isCompletion(head))) {
    await iterator.return?.();
    return isBytes(head) ? { bytes: head } : { value: head };
  }
  if (!isEventStream(head) && !wantsStream) {
    // One value, or an Observable's emissions (read on to tell them apart).
    const second = await iterator.next();
    if (second.done) return { value: head };
    read.push(second.value);
  }
  let started = false;
  let stop = false;
  async function* events(): AsyncIterable<unknown> {
    started = true;
    try {
      for (const value of read) {
        if (isEventStream(value)) yield* toAsyncIterable(value);
        else yield value;
      }
      while (!stop) {
        const next = await iterator.next();
        if (next.done) return;
        if (isEventStream(next.value)) yield* toAsyncIterable(next.value);
        else yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return {
    events: events(),
    cancel: () => {
      stop = true;
      // A generator that never started has nothing to unwind: drop the subscription here.
      if (!started) void iterator.return?.();
    },
  };
}

export function toAsyncIterable(
  source: AsyncIterable<unknown> | Observable<unknown>,
): AsyncIterable<unknown> {
  return isObservable(source) ? fromObservable(source) : source;
}
