/**
 * A StatsModule option that cannot work; the message says how to fix it.
 *
 * @example
 * StatsModule.forRoot({ token: 'short' }) // throws StatsOptionsError at start-up
 */
export class StatsOptionsError extends Error {
  override readonly name = 'StatsOptionsError';
}
