import type { ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import { digest } from '../redis/redis-keys';
import type { GuardCheck, GuardResult } from './guard-check';
import { resolveNumber, throttlerSuffix, type RouteThrottler } from './nest-throttlers';
import { hashedTracker } from './request-tracker';
import type { ResolvedThrottlingOptions } from './throttling-options';
import type { Tracker } from './throttling-options.interface';

// The @nestjs/throttler compatibility of ThrottlingGuard: a throttler's check as
// `ThrottlerGuard.handleRequest` reads it, its headers, and its `errorMessage`.

/** How the guard names a request's trackers: raw (as `trackerOf` returns it) and hashed. */
export interface TrackerSource {
  raw(by: Tracker): string;
  hashed(by: Tracker): string;
}

/** One `@nestjs/throttler` throttler of a request, as `ThrottlerGuard.handleRequest` reads it. */
export async function throttlerCheck(
  context: ExecutionContext,
  req: Request,
  t: RouteThrottler,
  options: ResolvedThrottlingOptions,
  trackers: TrackerSource,
): Promise<GuardCheck | undefined> {
  if (t.skipIf?.(context)) return undefined;
  const agent = req.headers['user-agent'] ?? '';
  if (t.ignoreUserAgents?.some((pattern) => pattern.test(agent))) return undefined;
  const limit = await resolveNumber(context, t.limit, 'limit', t.name);
  const ttl = await resolveNumber(context, t.ttl, 'ttl', t.name);
  const blockMs = await resolveNumber(context, t.blockDuration ?? ttl, 'blockDuration', t.name);
  const tracker = t.getTracker
    ? String(await t.getTracker(req, context))
    : trackers.raw(options.tracker);
  const prefix = options.keyPrefix;
  let key: string;
  let storeKey: string;
  if (t.generateKey) {
    // A custom key decides who shares a count: it alone makes the key (and its slot).
    key = t.generateKey(context, tracker, t.name);
    storeKey = `${prefix}{${digest(`nest:${key}`, 32)}}:throttler`;
  } else {
    // As @nestjs/throttler: per route, throttler and tracker; the tracker is the hash tag, so
    // these keys share a slot with the request's other limits.
    key = `${context.getClass().name}-${context.getHandler().name}-${t.name}`;
    const hashed = t.getTracker
      ? hashedTracker(`nest:${tracker}`)
      : trackers.hashed(options.tracker);
    storeKey = `${prefix}{${hashed}}:throttler:${digest(key, 32)}`;
  }
  return {
    kind: 'requests',
    policy: t.name,
    key: storeKey,
    limit,
    periodMs: ttl,
    cost: 1,
    blockMs,
    onRedisError: options.onRedisError,
    tracker: digest(tracker, 32),
    throttler: { setHeaders: t.setHeaders, ttl, key, tracker },
  };
}

/** `@nestjs/throttler`'s headers: `X-RateLimit-*` per throttler, `Retry-After` when rejected. */
export function writeThrottlerHeaders(
  res: ServerResponse,
  checks: GuardCheck[],
  allowed: boolean,
  results: GuardResult[],
): void {
  checks.forEach((check, i) => {
    const result = results[i];
    if (!check.throttler?.setHeaders || !result) return;
    const suffix = throttlerSuffix(check.policy);
    if (!result.passed) {
      res.setHeader(`Retry-After${suffix}`, String(toSeconds(result.retryAfterMs)));
    } else if (allowed) {
      res.setHeader(`X-RateLimit-Limit${suffix}`, String(check.limit));
      res.setHeader(`X-RateLimit-Remaining${suffix}`, String(result.remaining));
      res.setHeader(`X-RateLimit-Reset${suffix}`, String(toSeconds(result.resetMs)));
    }
  });
}

/** The 429 `detail`: `errorMessage` when a `@nestjs/throttler` throttler rejected, else `message`. */
export async function throttlerMessage(
  context: ExecutionContext,
  options: ResolvedThrottlingOptions,
  checks: GuardCheck[],
  results: GuardResult[],
): Promise<string> {
  const errorMessage = options.errorMessage;
  const index = checks.findIndex((c, i) => c.throttler && results[i] && !results[i].passed);
  const first = checks[index];
  if (errorMessage === undefined || !first?.throttler) return options.message;
  if (typeof errorMessage === 'string') return errorMessage;
  const result = results[index]!;
  return errorMessage(context, {
    limit: first.limit,
    ttl: first.throttler.ttl,
    key: first.throttler.key,
    tracker: first.throttler.tracker,
    totalHits: first.limit + 1,
    timeToExpire: toSeconds(result.resetMs),
    isBlocked: true,
    timeToBlockExpire: toSeconds(result.retryAfterMs),
  });
}

const toSeconds = (ms: number): number =>
  Number.isFinite(ms) ? Math.max(0, Math.ceil(ms / 1000)) : 0;
