import type { LedgerCheck } from './charge-ledger';

/** What a `@nestjs/throttler` throttler's check needs for its headers and its 429. */
export interface ThrottlerCheckInfo {
  setHeaders: boolean;
  ttl: number;
  /** The key as `generateKey` made it, and the tracker as `getTracker` returned it. */
  key: string;
  tracker: string;
}

/** One check of a request as the guard makes it: the ledger's check, and who it blames. */
export interface GuardCheck extends LedgerCheck {
  /** The hashed tracker the check counts for (stats, `onLimitReached`). */
  tracker: string;
  /** Set for a `@nestjs/throttler` throttler. */
  throttler: ThrottlerCheckInfo | undefined;
}

/** A check's verdict as the guard reads it (undefined: the policy was skipped). */
export type GuardResult =
  { passed: boolean; remaining: number; resetMs: number; retryAfterMs: number } | undefined;
