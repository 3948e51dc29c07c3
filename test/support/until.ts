/**
 * Resolves once `check()` holds, checking on every turn of the event loop; fails after `ms`
 * with what it waited for. The specs' one way to wait for a condition (never a fixed sleep).
 *
 * @example
 * await until(() => upstream.runs === 1, 'the leader to run its handler');
 */
export async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
