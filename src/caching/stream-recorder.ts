import type { RecordedEvent } from './cache-entry';

/** What a stream added up to when it ended: its chunks, their events, and how it ended. */
export interface Recording<C> {
  chunks: C[];
  events: RecordedEvent[];
  /** True when the source finished; false when it failed or its reader stopped. */
  clean: boolean;
}

/**
 * The one stream recorder of the cache: every flow that stores a stream (SSE and JSON
 * routes, `@Sse()` routes, streamed calls) adds its chunks here as they pass, each as an
 * event with its data and its time since the start, and ends it once, however the stream
 * ends. `record` drives it over an AsyncIterable; push sources (Observables) call `add`/`end`.
 *
 * @example
 * const recorder = new StreamRecorder((chunk) => JSON.stringify(chunk), (r) => store(r));
 * for await (const chunk of recorder.record(source)) write(chunk);
 */
export class StreamRecorder<C> {
  private readonly recording: Recording<C> = { chunks: [], events: [], clean: false };
  private readonly started = Date.now();
  private ended = false;

  constructor(
    /** The recorded form of a chunk: its `data`, or the whole event. */
    private readonly toEvent: (chunk: C, atMs: number) => RecordedEvent | string,
    private readonly onEnd: (recording: Recording<C>) => unknown,
  ) {}

  /** The event of the chunk added last. */
  get last(): RecordedEvent | undefined {
    return this.recording.events.at(-1);
  }

  add(chunk: C): void {
    const atMs = Date.now() - this.started;
    const event = this.toEvent(chunk, atMs);
    this.recording.chunks.push(chunk);
    this.recording.events.push(typeof event === 'string' ? { data: event, atMs } : event);
  }

  /** Ends the recording (later calls do nothing); resolves when `onEnd` has. */
  async end(clean: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.recording.clean = clean;
    await this.onEnd(this.recording);
  }

  /** The source's chunks as they come, recorded; ends the recording however the reading ends. */
  async *record(source: AsyncIterable<C>): AsyncGenerator<C> {
    let clean = false;
    try {
      for await (const chunk of source) {
        this.add(chunk);
        yield chunk;
      }
      clean = true;
    } finally {
      await this.end(clean);
    }
  }
}
