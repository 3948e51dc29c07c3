import type { ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { HeaderStyle } from './throttling-options.interface';

/** One request policy's figures for the response headers. */
export interface HeaderPolicy {
  name: string;
  limit: number;
  windowMs: number;
  remaining: number;
  resetMs: number;
  /** Left out of `X-RateLimit-*` (a `@nestjs/throttler` throttler writes its own). */
  ietfOnly: boolean;
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));
// A structured-field string: quotes and backslashes escaped, other characters kept printable.
const sfString = (value: string): string =>
  `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '?')}"`;
// Policy names come from the configuration: quote each once, not on every response.
const quotedNames = new LRUCache<string, string>({ max: 1000 });
function quoted(name: string): string {
  let value = quotedNames.get(name);
  if (value === undefined) quotedNames.set(name, (value = sfString(name)));
  return value;
}

/**
 * Writes `X-RateLimit-Limit/Remaining/Reset` (the tightest policy: fewest remaining) and the
 * IETF fields of draft-ietf-httpapi-ratelimit-headers-11, one list member per policy:
 * `RateLimit-Policy: "llm";q=20;w=60` and `RateLimit: "llm";r=19;t=3`.
 */
export function writeRateLimitHeaders(
  res: ServerResponse,
  style: HeaderStyle,
  policies: HeaderPolicy[],
): void {
  if (style === 'none' || policies.length === 0) return;
  if (style === 'legacy' || style === 'both') {
    let tightest: HeaderPolicy | undefined;
    for (const p of policies)
      if (!p.ietfOnly && (!tightest || p.remaining < tightest.remaining)) tightest = p;
    if (tightest) {
      res.setHeader('X-RateLimit-Limit', String(tightest.limit));
      res.setHeader('X-RateLimit-Remaining', String(tightest.remaining));
      res.setHeader('X-RateLimit-Reset', String(seconds(tightest.resetMs)));
    }
  }
  if (style === 'ietf' || style === 'both') {
    res.setHeader(
      'RateLimit-Policy',
      policies.map((p) => `${quoted(p.name)};q=${p.limit};w=${seconds(p.windowMs)}`).join(', '),
    );
    res.setHeader(
      'RateLimit',
      policies.map((p) => `${quoted(p.name)};r=${p.remaining};t=${seconds(p.resetMs)}`).join(', '),
    );
  }
}
