/**
 * Bounds many calls that share one timeout with a single timer, for hot paths where
 * `withDeadline`'s timer per call shows up (a `setTimeout` + `clearTimeout` pair and its
 * `Timeout` object for every request). Calls expire in the order they were added, so the
 * queue is a ring of (deadline, callback) slots; the timer is armed for the oldest pending
 * call only, which under steady traffic means about one timer per `timeoutMs`.
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

  /** Stops the timer; pending calls are left to their own outcome. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.sweep(), Math.max(1, delayMs));
    timer.unref();
    return timer;
  }

  private sweep(): void {
    this.timer = undefined;
    const now = Date.now();
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
      this.timer = this.arm(this.deadlines[this.first & this.mask]! - now);
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
