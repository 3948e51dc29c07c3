import type { MessageEvent } from '@nestjs/common';
import { concatMap, delay, from, mergeMap, Observable, of } from 'rxjs';
import type { RecordedEvent } from './cache-entry';
import { isEventStream } from './sse-stream';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * One emission of an `@Sse()` handler as Nest writes it: an object is a `MessageEvent`, any
 * other value its `data`; object data is JSON (as Nest serializes it), so replaying the
 * string writes the same bytes.
 */
export function recordMessage(message: unknown, atMs: number): RecordedEvent {
  const event = isObject(message) ? message : { data: message };
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
  if (pace === 'instant') return from(events.map(messageOf));
  let at = 0;
  return from(events).pipe(
    concatMap((event) => {
      const wait = Math.max(0, event.atMs - at);
      at = Math.max(at, event.atMs);
      return wait > 0 ? of(messageOf(event)).pipe(delay(wait)) : of(messageOf(event));
    }),
  );
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
    const events: RecordedEvent[] = [];
    const started = Date.now();
    let ended = false;
    const end = (clean: boolean): void => {
      if (ended) return;
      ended = true;
      onEnd(events, clean);
    };
    // A handler that resolves to a stream (not an Observable itself): its events, flattened.
    const flat$ = output$.pipe(
      mergeMap((value) => (isEventStream(value) ? from(value) : of(value))),
    );
    const subscription = flat$.subscribe({
      next: (value) => {
        events.push(recordMessage(value, Date.now() - started));
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
