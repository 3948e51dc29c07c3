import { DEFAULT_UNKNOWN_MODEL_PRICE, type ModelPrice } from '../llm/llm-pricing';
import { resolveThrottlers, type ResolvedThrottler } from './nest-throttlers';
import { THROTTLING_PRESETS } from './throttling.constants';
import { optionMessages, ThrottlingOptionsError } from './throttling.errors';
import type {
  FailurePolicy,
  HeaderStyle,
  LlmThrottleOptions,
  RateLimitPolicy,
  ThrottlingModuleOptions,
  Tracker,
} from './throttling-options.interface';

/** A policy with every field resolved. */
export interface ResolvedPolicy {
  name: string;
  limit: number;
  ttlMs: number;
  by: Tracker;
  onRedisError: FailurePolicy;
}

/** Module options with defaults merged and every value checked (once, at start-up). */
export interface ResolvedThrottlingOptions {
  policies: Record<string, ResolvedPolicy>;
  global: ResolvedPolicy | undefined;
  llm: Required<Omit<LlmThrottleOptions, 'policy' | 'by' | 'tokensPerMinute' | 'usdPerDay'>> &
    Pick<LlmThrottleOptions, 'tokensPerMinute' | 'usdPerDay'> & { leaseTtlMs: number };
  tracker: Tracker;
  trustProxy: number;
  ipv6Subnet: number;
  apiKeyHeader: string;
  message: string;
  onLimitReached: ThrottlingModuleOptions['onLimitReached'];
  headers: HeaderStyle;
  onRedisError: FailurePolicy;
  redisTimeoutMs: number;
  keyPrefix: string;
  memoryMaxKeys: number;
  pricing: NonNullable<ThrottlingModuleOptions['pricing']>;
  unknownModelPrice: ModelPrice;
  statsFlushIntervalMs: number;
  throttlers: ResolvedThrottler[];
  errorMessage: ThrottlingModuleOptions['errorMessage'];
}

const FAILURE_POLICIES = ['open', 'closed', 'local'] as const;
const HEADER_STYLES = ['both', 'legacy', 'ietf', 'none'] as const;
const TRACKERS = ['ip', 'user', 'session', 'apiKey'] as const;

function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new ThrottlingOptionsError('E_THROTTLE_NUMBER', optionMessages.positive(field, v));
  return v;
}

function optionalPositive(field: string, value: number | undefined): number | undefined {
  return value === undefined ? undefined : positive(field, value, value);
}

function oneOf<T extends string>(
  field: string,
  value: T | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = value ?? fallback;
  if (!allowed.includes(v))
    throw new ThrottlingOptionsError('E_THROTTLE_VALUE', optionMessages.oneOf(field, v, allowed));
  return v;
}

/** Checks a tracker option: a built-in name or a function. */
export function checkTracker(field: string, tracker: Tracker): Tracker {
  if (typeof tracker === 'function') return tracker;
  return oneOf(field, tracker, TRACKERS, 'ip');
}

/** Resolves one request limit against the module defaults. */
export function resolvePolicy(
  name: string,
  policy: RateLimitPolicy,
  defaults: { tracker: Tracker; onRedisError: FailurePolicy },
  where = `policies.${name}`,
): ResolvedPolicy {
  return {
    name,
    limit: integer(`${where}.limit`, policy?.limit, NaN, 1, Number.MAX_SAFE_INTEGER),
    ttlMs: positive(`${where}.ttlMs`, policy?.ttlMs, NaN),
    by: checkTracker(`${where}.by`, policy.by ?? defaults.tracker),
    onRedisError: oneOf(
      `${where}.onRedisError`,
      policy.onRedisError,
      FAILURE_POLICIES,
      defaults.onRedisError,
    ),
  };
}

function integer(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ThrottlingOptionsError(
      'E_THROTTLE_VALUE',
      optionMessages.integer(field, v, min, max),
    );
  return v;
}

/**
 * Merges the defaults into the module options and validates them; throws a
 * `ThrottlingOptionsError` that says how to fix a bad value.
 */
export function resolveThrottlingOptions(
  options: ThrottlingModuleOptions = {},
): ResolvedThrottlingOptions {
  const trustProxy = options.trustProxy ?? 0;
  if (
    typeof trustProxy !== 'number' ||
    !Number.isInteger(trustProxy) ||
    trustProxy < 0 ||
    trustProxy > 32
  )
    throw new ThrottlingOptionsError(
      'E_THROTTLE_TRUST_PROXY',
      optionMessages.trustProxy(trustProxy),
    );
  const tracker = checkTracker('tracker', options.tracker ?? 'ip');
  const onRedisError = oneOf('onRedisError', options.onRedisError, FAILURE_POLICIES, 'local');
  const defaults = { tracker, onRedisError };
  const policies: Record<string, ResolvedPolicy> = {};
  for (const [name, policy] of Object.entries({ ...THROTTLING_PRESETS, ...options.policies }))
    if (policy !== undefined) policies[name] = resolvePolicy(name, policy, defaults);
  const llm = options.llm ?? {};
  return {
    policies,
    global: options.global
      ? resolvePolicy('global', options.global, defaults, 'global')
      : undefined,
    llm: {
      tokensPerMinute: optionalPositive('llm.tokensPerMinute', llm.tokensPerMinute),
      usdPerDay: optionalPositive('llm.usdPerDay', llm.usdPerDay),
      countCacheHits: llm.countCacheHits ?? false,
      defaultMaxTokens: integer('llm.defaultMaxTokens', llm.defaultMaxTokens, 1024, 0, 10_000_000),
      defaultModel: llm.defaultModel ?? 'gpt-4o',
      leaseTtlMs: positive('llm.leaseTtlMs', llm.leaseTtlMs, 120_000),
    },
    tracker,
    trustProxy,
    ipv6Subnet: integer('ipv6Subnet', options.ipv6Subnet, 56, 1, 128),
    apiKeyHeader: (options.apiKeyHeader ?? 'x-api-key').toLowerCase(),
    message: options.message ?? 'Too many requests, retry later.',
    onLimitReached: options.onLimitReached,
    headers: oneOf('headers', options.headers, HEADER_STYLES, 'both'),
    onRedisError,
    redisTimeoutMs: positive('redisTimeoutMs', options.redisTimeoutMs, 500),
    keyPrefix: options.keyPrefix ?? 'rl:',
    memoryMaxKeys: integer('memoryMaxKeys', options.memoryMaxKeys, 100_000, 1, 100_000_000),
    pricing: options.pricing ?? {},
    unknownModelPrice:
      checkPrice('unknownModelPrice', options.unknownModelPrice) ?? DEFAULT_UNKNOWN_MODEL_PRICE,
    statsFlushIntervalMs: positive('statsFlushIntervalMs', options.statsFlushIntervalMs, 1000),
    throttlers: resolveThrottlers(options),
    errorMessage: options.errorMessage,
  };
}

function checkPrice(field: string, price: ModelPrice | undefined): ModelPrice | undefined {
  if (price === undefined) return undefined;
  for (const part of ['input', 'output'] as const) {
    const v = (price as Partial<ModelPrice> | null)?.[part];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ThrottlingOptionsError(
        'E_THROTTLE_NUMBER',
        optionMessages.positive(`${field}.${part}`, v as number),
      );
  }
  return price;
}
