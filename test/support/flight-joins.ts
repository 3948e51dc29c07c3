import type { INestApplication } from '@nestjs/common';
import { LlmCacheService } from '../../src';

/** How many requests joined the app's cache flights (leaders and waiters), until `restore()`. */
export interface FlightJoins {
  readonly count: number;
  restore(): void;
}

/**
 * Counts the calls into the single-flight of `app`'s `LlmCacheService`: a request that joined is
 * the leader of its key or already waits on it, so a spec can hold a leader until its waiters are
 * in (`until(() => joins.count === n, ...)`) instead of hoping they arrive within a delay.
 *
 * @example
 * const joins = countFlightJoins(app);
 * try { ... } finally { joins.restore(); }
 */
export function countFlightJoins(app: INestApplication): FlightJoins {
  const flight = app.get(LlmCacheService).flight;
  const join = flight.join.bind(flight);
  let count = 0;
  const spy = jest.spyOn(flight, 'join').mockImplementation((...args) => {
    count++;
    return join(...args);
  });
  return {
    get count() {
      return count;
    },
    restore: () => spy.mockRestore(),
  };
}
