/**
 * Loads an optional peer dependency, or returns `null` when it is not installed. Any other
 * failure (a broken install) is thrown, so it is not mistaken for "not installed".
 */
export function optionalRequire<T>(name: string): T | null {
  try {
    // A lazy require keeps the peer optional: nothing loads it unless a feature needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : '';
    if (code === 'MODULE_NOT_FOUND' && message.includes(`'${name}'`)) return null;
    throw error;
  }
}
