/** The codes Node, Jest and bundlers give an error for a module that is not installed. */
const NOT_FOUND_CODES: ReadonlySet<unknown> = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND']);

/**
 * Loads an optional peer dependency, or returns `null` when it is not installed. Any other
 * failure (a broken install, a missing dependency of the peer itself) is thrown, so it is not
 * mistaken for "not installed".
 *
 * The error is read by shape, not with `instanceof Error`: Jest's `ModuleNotFoundError` comes
 * from another realm, and webpack's from its own runtime; all of them carry `code` and a message
 * that names the module.
 *
 * @example
 * const swagger = optionalRequire<typeof import('@nestjs/swagger')>('@nestjs/swagger');
 */
export function optionalRequire<T>(name: string): T | null {
  try {
    // A lazy require keeps the peer optional: nothing loads it unless a feature needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    if (isNotFound(error, name)) return null;
    throw error;
  }
}

function isNotFound(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    NOT_FOUND_CODES.has(code) &&
    typeof message === 'string' &&
    (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  );
}
