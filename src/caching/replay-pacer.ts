import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedEvent } from './cache-entry';

/**
 * The one replay pacer of the cache: a hit's recorded events, at once or at their recorded
 * pace (each one when its `atMs` comes). Every replay (SSE frames, `@Sse()` messages, the
 * chunks of a streamed call) reads its events from here. Stops when `signal` aborts.
 *
 * @example
 * for await (const event of paced(entry.events, 'recorded', signal)) write(event.data);
 */
export async function* paced(
  events: readonly RecordedEvent[],
  pace: 'instant' | 'recorded' = 'instant',
  signal?: AbortSignal,
): AsyncGenerator<RecordedEvent> {
  let at = 0;
  for (const event of events) {
    if (pace === 'recorded' && event.atMs > at) {
      await delay(event.atMs - at, undefined, { signal }).catch(() => undefined);
      at = event.atMs;
    }
    if (signal?.aborted) return;
    yield event;
  }
}
