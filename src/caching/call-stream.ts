import type { RecordedEvent } from './cache-entry';
import { paced } from './replay-pacer';

/**
 * The stream a wrapped call returns, shaped like the provider SDKs' `Stream` (async
 * iterable once, `controller` to abort, `tee()`, `toReadableStream()` as newline-delimited
 * JSON), so code written against `openai` / `@anthropic-ai/sdk` streams keeps working on a
 * replayed hit.
 *
 * @example
 * const stream = await openai.chat.completions.create({ ...params, stream: true });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 */
export class CallStream<T> implements AsyncIterable<T> {
  private consumed = false;

  constructor(
    private readonly iterate: () => AsyncIterator<T>,
    readonly controller: AbortController = new AbortController(),
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.consumed)
      throw new Error('Cannot iterate over a consumed stream, use `.tee()` to split the stream.');
    this.consumed = true;
    return this.iterate();
  }

  /**
   * Two streams that each yield every chunk in order (the source is read once). As the
   * SDKs' `tee()`: each read of the source is queued for both branches as a promise, so two
   * branches read at once still see the same order.
   */
  tee(): [CallStream<T>, CallStream<T>] {
    const queues: Promise<IteratorResult<T>>[][] = [[], []];
    let source: AsyncIterator<T> | undefined;
    const branch = (mine: number): CallStream<T> =>
      new CallStream<T>(
        () => ({
          next: () => {
            if (queues[mine]!.length === 0) {
              source ??= this[Symbol.asyncIterator]();
              const result = source.next();
              for (const queue of queues) queue.push(result);
            }
            return queues[mine]!.shift()!;
          },
        }),
        this.controller,
      );
    return [branch(0), branch(1)];
  }

  /** The chunks as a byte stream of JSON lines, as the SDKs' `toReadableStream()`. */
  toReadableStream(): ReadableStream<Uint8Array> {
    const iterator = this[Symbol.asyncIterator]();
    const encoder = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
      },
      async cancel() {
        await iterator.return?.();
      },
    });
  }
}

/**
 * The recorded chunks of an entry as objects again, at once or at their recorded pace; stops
 * when `signal` aborts.
 */
export async function* replayChunks<T>(
  events: readonly RecordedEvent[],
  revive: (chunk: unknown) => T,
  pace: 'instant' | 'recorded',
  signal: AbortSignal,
): AsyncGenerator<T> {
  for await (const event of paced(events, pace, signal)) yield revive(JSON.parse(event.data));
}
