import { type ExecutionContext, Logger } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type {
  Resolvable,
  ThrottlerGenerateKeyFunction,
  ThrottlerGetTrackerFunction,
  ThrottlerOptions,
} from '@nestjs/throttler';
import { ThrottlingOptionsError } from './throttling.errors';
import type { ThrottlingModuleOptions } from './throttling-options.interface';

// @nestjs/throttler's metadata keys (its throttler.constants, not exported from its root; the
// decorators write `<key><throttler name>`).
const THROTTLER_LIMIT = 'THROTTLER:LIMIT';
const THROTTLER_TTL = 'THROTTLER:TTL';
const THROTTLER_TRACKER = 'THROTTLER:TRACKER';
const THROTTLER_BLOCK_DURATION = 'THROTTLER:BLOCK_DURATION';
const THROTTLER_KEY_GENERATOR = 'THROTTLER:KEY_GENERATOR';
const THROTTLER_SKIP = 'THROTTLER:SKIP';

/** A `throttlers` entry with its name and the module-wide `@nestjs/throttler` options merged in. */
export interface ResolvedThrottler {
  name: string;
  limit: Resolvable<number>;
  ttl: Resolvable<number>;
  blockDuration: Resolvable<number> | undefined;
  skipIf: ((context: ExecutionContext) => boolean) | undefined;
  ignoreUserAgents: RegExp[] | undefined;
  getTracker: ThrottlerGetTrackerFunction | undefined;
  generateKey: ThrottlerGenerateKeyFunction | undefined;
  setHeaders: boolean;
}

/** A throttler as one route sees it: `@Throttle()` values over the module's. */
export type RouteThrottler = ResolvedThrottler;

const fail = (message: string): never => {
  throw new ThrottlingOptionsError('E_THROTTLE_THROTTLER', message);
};

function checkResolvable(where: string, value: unknown, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value === 'function') return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    fail(`${where} must be a number of ms (or a function of the context), got ${String(value)}.`);
}

function checkFunction(where: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    fail(`${where} must be a function, got ${typeof value}.`);
}

function checkAgents(where: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => v instanceof RegExp))
    fail(
      `${where} must be an array of RegExp, got ${Array.isArray(value) ? 'an array with a non-RegExp entry' : typeof value}.`,
    );
}

/**
 * Resolves and validates `@nestjs/throttler`'s options given to `ThrottlingModule.forRoot()`,
 * sorted by `ttl` as its guard does.
 */
export function resolveThrottlers(options: ThrottlingModuleOptions): ResolvedThrottler[] {
  const list: unknown = options.throttlers ?? [];
  if (!Array.isArray(list))
    fail('throttlers must be an array of { name, ttl, limit, blockDuration } (ttl in ms).');
  checkFunction('skipIf', options.skipIf);
  checkFunction('getTracker', options.getTracker);
  checkFunction('generateKey', options.generateKey);
  checkAgents('ignoreUserAgents', options.ignoreUserAgents);
  if (
    options.errorMessage !== undefined &&
    !['string', 'function'].includes(typeof options.errorMessage)
  )
    fail('errorMessage must be a string or a function of (context, detail).');
  const names = new Set<string>();
  const resolved = (list as ThrottlerOptions[]).map((t, i) => {
    const name = t?.name ?? 'default';
    const where = `throttlers[${i}] (${name})`;
    if (typeof name !== 'string' || name === '')
      fail(
        `${where}.name must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}.`,
      );
    if (names.has(name)) fail(`${where}: two throttlers are named '${name}'; names must differ.`);
    names.add(name);
    checkResolvable(`${where}.ttl`, t.ttl, false);
    checkResolvable(`${where}.limit`, t.limit, false);
    checkResolvable(`${where}.blockDuration`, t.blockDuration, true);
    if (typeof t.ttl === 'number' && t.ttl <= 0)
      fail(`${where}.ttl must be a positive number of ms, got ${t.ttl}.`);
    checkFunction(`${where}.skipIf`, t.skipIf);
    checkFunction(`${where}.getTracker`, t.getTracker);
    checkFunction(`${where}.generateKey`, t.generateKey);
    checkAgents(`${where}.ignoreUserAgents`, t.ignoreUserAgents);
    return {
      name,
      limit: t.limit,
      ttl: t.ttl,
      blockDuration: t.blockDuration,
      skipIf: t.skipIf ?? options.skipIf,
      ignoreUserAgents: t.ignoreUserAgents ?? options.ignoreUserAgents,
      getTracker: t.getTracker ?? options.getTracker,
      generateKey: t.generateKey ?? options.generateKey,
      setHeaders: t.setHeaders ?? options.setHeaders ?? true,
    };
  });
  return resolved.sort((a, b) =>
    typeof a.ttl === 'number' && typeof b.ttl === 'number' ? a.ttl - b.ttl : 0,
  );
}

const logger = new Logger('ThrottlingModule');

const PREFIXES = [
  THROTTLER_SKIP,
  THROTTLER_LIMIT,
  THROTTLER_TTL,
  THROTTLER_BLOCK_DURATION,
  THROTTLER_TRACKER,
  THROTTLER_KEY_GENERATOR,
];

/**
 * The throttlers that apply to a route: `@SkipThrottle()` ones left out, `@Throttle()` values
 * over the module's. A decorator naming a throttler that `throttlers` lacks fails the boot.
 */
export function planThrottlers(
  reflector: Reflector,
  targets: (() => void)[],
  throttlers: ResolvedThrottler[],
  where: string,
): RouteThrottler[] {
  const known = new Set(throttlers.map((t) => t.name));
  for (const target of targets)
    for (const key of Reflect.getMetadataKeys(target) as unknown[]) {
      if (typeof key !== 'string') continue;
      const prefix = PREFIXES.find((p) => key.startsWith(p));
      if (!prefix) continue;
      const name = key.slice(prefix.length);
      if (known.has(name)) continue;
      const message =
        `@${prefix === THROTTLER_SKIP ? 'SkipThrottle' : 'Throttle'}() on ${where} names the throttler ` +
        `'${name}', which ThrottlingModule.forRoot({ throttlers }) does not define ` +
        `(defined: ${[...known].map((n) => `'${n}'`).join(', ') || 'none'}). Add it there or fix the name.`;
      // `@SkipThrottle()` names 'default' implicitly, and @nestjs/throttler ignores it without a
      // default throttler: an app relying on that still boots, with a warning.
      if (name === 'default') logger.warn(message);
      else fail(message);
    }
  const routeThrottlers: RouteThrottler[] = [];
  for (const t of throttlers) {
    const read = <T>(prefix: string): T | undefined =>
      reflector.getAllAndOverride<T | undefined>(prefix + t.name, targets);
    if (read<boolean>(THROTTLER_SKIP)) continue;
    routeThrottlers.push({
      ...t,
      limit: read<Resolvable<number>>(THROTTLER_LIMIT) ?? t.limit,
      ttl: read<Resolvable<number>>(THROTTLER_TTL) ?? t.ttl,
      blockDuration: read<Resolvable<number>>(THROTTLER_BLOCK_DURATION) ?? t.blockDuration,
      getTracker: read<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ?? t.getTracker,
      generateKey: read<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR) ?? t.generateKey,
    });
  }
  return routeThrottlers;
}

/** A `Resolvable` value for one request, checked as `@nestjs/throttler` checks it. */
export async function resolveNumber(
  context: ExecutionContext,
  value: Resolvable<number>,
  option: string,
  throttler: string,
): Promise<number> {
  const raw: unknown = typeof value === 'function' ? await value(context) : value;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new Error(
      `Invalid "${option}" for the "${throttler}" throttler: expected a number, got ${JSON.stringify(raw)}.`,
    );
  return n;
}

/** `@nestjs/throttler`'s header suffix: none for the `default` throttler, `-<name>` otherwise. */
export const throttlerSuffix = (name: string): string => (name === 'default' ? '' : `-${name}`);
