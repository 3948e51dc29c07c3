/** What a request's `Cache-Control` asks of the cache. */
export interface RequestCacheControl {
  /** `no-cache`: do not answer from the cache, refresh the entry. */
  noCache: boolean;
  /** `no-store`: neither read nor write. */
  noStore: boolean;
  /** `max-age=N`: accept an entry at most N seconds old, store the new one for N seconds. */
  maxAgeS?: number;
}

const NONE: RequestCacheControl = { noCache: false, noStore: false };

/**
 * Parses a request's `Cache-Control` header (unknown directives ignored).
 *
 * @example
 * parseCacheControl('max-age=60') // { noCache: false, noStore: false, maxAgeS: 60 }
 */
export function parseCacheControl(header: string | string[] | undefined): RequestCacheControl {
  if (header === undefined || header === '') return NONE;
  const value = (Array.isArray(header) ? header.join(',') : header).toLowerCase();
  const result: RequestCacheControl = { noCache: false, noStore: false };
  for (const directive of value.split(',')) {
    const [name, arg] = directive.trim().split('=');
    if (name === 'no-cache') result.noCache = true;
    else if (name === 'no-store') result.noStore = true;
    else if (name === 'max-age' && arg !== undefined && /^\d{1,9}$/.test(arg.trim()))
      result.maxAgeS = Number(arg.trim());
  }
  return result;
}
