import type { Logger } from '@nestjs/common';

/**
 * Logs a warning at most once per interval per topic, so a Redis outage writes one line
 * every few seconds instead of one per request.
 *
 * @example
 * const warnOnce = new LogThrottle(logger, 10_000);
 * warnOnce.warn('cache-read', `cache read failed for key ${keyHash}`);
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly intervalMs = 10_000,
  ) {}

  warn(topic: string, message: string): void {
    const now = Date.now();
    if (now - (this.last.get(topic) ?? -Infinity) < this.intervalMs) return;
    this.last.set(topic, now);
    this.logger.warn(message);
  }
}
