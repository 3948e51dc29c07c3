/** Most call-site names counted separately; later ones are counted under `other`. */
export const MAX_CALL_SITES = 100;
const NAME = /^[A-Za-z0-9_.:/ -]{1,64}$/;

/**
 * Checks a call-site name (1-64 letters, digits, `_ . : / -` or spaces: it becomes a stats
 * field and a Prometheus label); throws a TypeError that says so.
 *
 * @example
 * checkSiteName('agent.plan') // 'agent.plan'
 */
export function checkSiteName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(
      `A call-site name must be 1-64 characters of letters, digits, '_', '.', ':', '/', '-' or spaces, got ${JSON.stringify(name)}.`,
    );
  return name;
}
