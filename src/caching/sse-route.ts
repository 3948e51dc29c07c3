import type { MessageEvent } from '@nestjs/common';
import { from, map, mergeMap, Observable, of } from 'rxjs';
import type { JsonObject } from '../common/is-object';
import type { RecordedEvent } from './cache-entry';
import { paced } from './replay-pacer';
import { isEventStream } from './sse-stream';
import { StreamRecorder } from './stream-recorder';

/**
 * One emission of an `@Sse()` handler as Nest writes it: an object is a `MessageEvent`, any
 * other value its `data`; object data is JSON (as Nest serializes it), so replaying the
 * string writes the same bytes.
 */
export function recordMessage(message: unknown, atMs: number): RecordedEvent {
  // As Nest reads an emission: any object (an array too) is the event itself.
  const event =
    typeof message === 'object' && message !== null ? (message as JsonObject) : { data: message };
  const data = event.data;
  const recorded: RecordedEvent = {
    data:
      data === undefined || data === null
        ? ''
        : typeof data === 'string'
          ? data
          : JSON.stringify(data),
    atMs,
  };
  if (data === undefined || data === null) recorded.bare = true;
  if (typeof event.type === 'string') recorded.type = event.type;
  if (typeof event.id === 'string' || typeof event.id === 'number') recorded.id = String(event.id);
  if (typeof event.retry === 'number') recorded.retry = event.retry;
  if (typeof event.comment === 'string') recorded.comment = event.comment;
  return recorded;
}

/** The `MessageEvent` a recorded event replays as. */
export function messageOf(event: RecordedEvent): MessageEvent {
  const message: MessageEvent = event.bare ? {} : { data: event.data };
  if (event.type !== undefined) message.type = event.type;
  if (event.id !== undefined) message.id = event.id;
  if (event.retry !== undefined) message.retry = event.retry;
  if (event.comment !== undefined) message.comment = event.comment;
  return message;
}

/** Recorded events as the Observable an `@Sse()` route hands Nest, at once or at their pace. */
export function replayMessages(
  events: readonly RecordedEvent[],
  pace: 'instant' | 'recorded' = 'instant',
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    const stop = new AbortController();
    const subscription = from(paced(events, pace, stop.signal))
      .pipe(map(messageOf))
      .subscribe(subscriber);
    return () => {
      stop.abort();
      subscription.unsubscribe();
    };
  });
}

/**
 * An `@Sse()` handler's events, passed on to Nest unchanged while they are recorded.
 * `onEnd(events, clean)` runs exactly once: on completion (clean), on an error, or when Nest
 * unsubscribes (the client went away).
 */
export function recordMessages(
  output$: Observable<unknown>,
  onEnd: (events: RecordedEvent[], clean: boolean) => void,
): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const recorder = new StreamRecorder<unknown>(recordMessage, ({ events, clean }) =>
      onEnd(events, clean),
    );
    const end = (clean: boolean) => void recorder.end(clean);
    // A handler that resolves to a stream (not an Observable itself): its events, flattened.
    const flat$ = output$.pipe(
      mergeMap((value) => (isEventStream(value) ? from(value) : of(value))),
    );
    const subscription = flat$.subscribe({
      next: (value) => {
        recorder.add(value);
        subscriber.next(value);
      },
      error: (error: unknown) => {
        end(false);
        subscriber.error(error);
      },
      complete: () => {
        end(true);
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      end(false);
    };
  });
}
