/** Raised when Redis does not answer one of the kit's calls within its bound. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  constructor(what: string, timeoutMs: number) {
    super(`Redis did not answer ${what} within ${timeoutMs} ms`);
  }
}

/**
 * The kit's one deadline mechanism: bounds many calls that share one timeout with a single
 * timer. Calls expire in the order they were added, so the queue is a ring of (deadline,
 * callback) slots and the timer is armed for the oldest pending call only: under steady
 * traffic about one timer per `timeoutMs` instead of a `setTimeout` + `clearTimeout` pair
 * per call. `withDeadline()` is its promise form; code on a hot path that works with
 * callbacks uses `add` / `settle` directly.
 *
 * Why the kit bounds replies itself: node-redis 5's per-command `timeout` only bounds the
 * wait to be written, not the wait for the reply (a frozen server never fails a written
 * command), and costs an AbortSignal timer per command.
 *
 * A call is expired one turn of the event loop after its timer fires, not in the timer: Node
 * runs due timers before it reads the sockets, so when this process itself was stalled past a
 * deadline (a long GC, a CPU-starved host) the timer would fail calls whose replies came in
 * time and wait unread. Expiring from `setImmediate` lets that read happen first; the calls
 * expired are still those due when the timer fired.
 *
 * @example
 * const deadlines = new DeadlineQueue(1000);
 * const ticket = deadlines.add(() => done(new RedisTimeoutError('a read', 1000)));
 * redis.get(key).then((value) => deadlines.settle(ticket) && done(null, value));
 */
export class DeadlineQueue {
  private expires: ((() => void) | undefined)[] = new Array<undefined>(64);
  private deadlines = new Float64Array(64);
  private mask = 63;
  /** Tickets `first` (inclusive) to `next` (exclusive) are in the ring. */
  private first = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The sweep of the calls due when the timer last fired, after the sockets are read. */
  private sweeping: NodeJS.Immediate | undefined;

  constructor(readonly timeoutMs: number) {}

  /** Calls `expire` once `timeoutMs` has passed, unless `settle(ticket)` comes first. */
  add(expire: () => void): number {
    if (this.next - this.first > this.mask) this.grow();
    const ticket = this.next++;
    this.expires[ticket & this.mask] = expire;
    this.deadlines[ticket & this.mask] = Date.now() + this.timeoutMs;
    this.timer ??= this.arm(this.timeoutMs);
    return ticket;
  }

  /** Marks the call done; false when it had expired already (its answer comes too late). */
  settle(ticket: number): boolean {
    if (ticket < this.first) return false;
    const slot = ticket & this.mask;
    if (this.expires[slot] === undefined) return false;
    this.expires[slot] = undefined;
    return true;
  }

  /**
   * `work`'s outcome, or a `RedisTimeoutError` once `timeoutMs` has passed (`failure` maps
   * either error to what the caller throws).
   */
  run<T>(work: Promise<T>, what: string, failure: (error: unknown) => unknown = same): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const ticket = this.add(() => reject(failure(new RedisTimeoutError(what, this.timeoutMs))));
      work.then(
        (value) => this.settle(ticket) && resolve(value),
        (error: unknown) => this.settle(ticket) && reject(failure(error)),
      );
    });
  }

  /** Stops the timer; pending calls are left to their own outcome. */
  close(): void {
    clearTimeout(this.timer);
    clearImmediate(this.sweeping);
    this.timer = undefined;
    this.sweeping = undefined;
  }

  private arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        const now = Date.now();
        this.sweeping = setImmediate(() => this.sweep(now));
      },
      Math.max(1, delayMs),
    );
    timer.unref();
    return timer;
  }

  /** Expires the calls due at `now` (when the timer fired) that no reply has settled since. */
  private sweep(now: number): void {
    this.timer = undefined;
    this.sweeping = undefined;
    while (this.first < this.next) {
      const slot = this.first & this.mask;
      const expire = this.expires[slot];
      if (expire !== undefined) {
        if (this.deadlines[slot]! > now) break;
        this.expires[slot] = undefined;
        expire();
      }
      this.first++;
    }
    if (this.first < this.next)
      this.timer = this.arm(this.deadlines[this.first & this.mask]! - Date.now());
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const expires = new Array<(() => void) | undefined>(size);
    const deadlines = new Float64Array(size);
    for (let ticket = this.first; ticket < this.next; ticket++) {
      expires[ticket & (size - 1)] = this.expires[ticket & this.mask];
      deadlines[ticket & (size - 1)] = this.deadlines[ticket & this.mask]!;
    }
    this.expires = expires;
    this.deadlines = deadlines;
    this.mask = size - 1;
  }
}

const same = (error: unknown): unknown => error;

// One queue per timeout value: the values come from configuration, so there are few.
const queues = new Map<number, DeadlineQueue>();

/**
 * `work`'s outcome, or a `RedisTimeoutError` once `timeoutMs` has passed (`failure` maps
 * either error to what the caller throws); `timeoutMs` of 0 or less means no bound. Every
 * call with the same `timeoutMs` shares one `DeadlineQueue`, hence one timer.
 *
 * @example
 * const raw = await withDeadline(redis.get(key), 2000, 'a cache read');
 */
export function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  what: string,
  failure: (error: unknown) => unknown = same,
): Promise<T> {
  if (!(timeoutMs > 0)) return work;
  let queue = queues.get(timeoutMs);
  if (queue === undefined) queues.set(timeoutMs, (queue = new DeadlineQueue(timeoutMs)));
  return queue.run(work, what, failure);
}
