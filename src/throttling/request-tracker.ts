import type { Request } from 'express';
import { carriedSessionId, resolveUserId } from '../common/request-identity';
import { digest } from '../redis/redis-keys';
import { clientIp, ipGroup } from './client-ip';
import type { Tracker } from './throttling-options.interface';

/** What trackers need from the module options. */
export interface TrackerSettings {
  trustProxy: number;
  ipv6Subnet: number;
  apiKeyHeader: string;
}

/**
 * The raw tracker value of a request for a tracker: `user`, `session` and `apiKey` fall back
 * to the client IP for requests that have none, so anonymous callers are still limited.
 */
export function trackerValue(req: Request, tracker: Tracker, settings: TrackerSettings): string {
  const ip = (): string => `ip:${ipGroup(clientIp(req, settings.trustProxy), settings.ipv6Subnet)}`;
  switch (tracker) {
    case 'ip':
      return ip();
    case 'user': {
      const id = resolveUserId(req);
      return id === undefined ? ip() : `user:${id}`;
    }
    case 'session': {
      // Only a session the cookie carried and the store had: express-session gives every
      // anonymous request a fresh id, which would let anonymous clients through unlimited.
      const id = carriedSessionId(req);
      return id ? `session:${id}` : ip();
    }
    case 'apiKey': {
      const header = req.headers[settings.apiKeyHeader];
      const key = Array.isArray(header) ? header[0] : header;
      return key ? `apiKey:${key}` : ip();
    }
    default: {
      const value = tracker(req);
      return value ? `fn:${value}` : ip();
    }
  }
}

/** The hashed tracker: what keys, stats and callbacks see (never a raw IP, id or key). */
export function hashedTracker(value: string): string {
  return digest(value, 32);
}
