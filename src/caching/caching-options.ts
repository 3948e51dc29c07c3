import { randomBytes } from 'node:crypto';
import type { CachingModuleOptions, ResolvedCachingOptions } from './caching-options.interface';
import { CachingOptionsError } from './caching.errors';

export const DEFAULT_TTL_MS = 3_600_000;
export const MIN_PARTITION_SECRET_LENGTH = 32;

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new CachingOptionsError(
      `CachingModule: "${name}" must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}. Fix the option passed to CachingModule.forRoot().`,
    );
  }
  return value;
}

/**
 * Merges the defaults into the module options and validates them once, at start-up.
 * With Redis a `partitionSecret` is required: instances sharing Redis must agree on it, and a
 * random one per process would silently split every user's cache by instance.
 */
export function resolveCachingOptions(
  options: CachingModuleOptions,
  hasRedis: boolean,
): ResolvedCachingOptions {
  const secret = options.partitionSecret;
  if (secret !== undefined && secret.length < MIN_PARTITION_SECRET_LENGTH) {
    throw new CachingOptionsError(
      `CachingModule: "partitionSecret" must be at least ${MIN_PARTITION_SECRET_LENGTH} characters. Generate one with \`openssl rand -hex 32\`.`,
    );
  }
  if (secret === undefined && (hasRedis || options.store !== undefined)) {
    throw new CachingOptionsError(
      'CachingModule: "partitionSecret" is required with Redis (or a shared "store"), so that every instance sharing it computes the same per-user partitions. Pass a secret of at least 32 characters (e.g. `openssl rand -hex 32`) from your configuration.',
    );
  }
  const keyPrefix = options.keyPrefix ?? 'llm:cache';
  if (!/^[\w:.-]{1,64}$/.test(keyPrefix)) {
    throw new CachingOptionsError(
      `CachingModule: "keyPrefix" must be 1-64 characters of letters, digits, ":", ".", "_" or "-", got ${JSON.stringify(keyPrefix)}.`,
    );
  }
  const scope = options.scope ?? 'auto';
  if (typeof scope !== 'function' && !['auto', 'user', 'global'].includes(scope)) {
    throw new CachingOptionsError(
      `CachingModule: "scope" must be 'auto', 'user', 'global' or a function, got ${JSON.stringify(scope)}.`,
    );
  }
  return {
    enabled: options.enabled ?? true,
    store: options.store,
    ttlMs: positive('ttlMs', options.ttlMs ?? DEFAULT_TTL_MS),
    keyPrefix,
    scope,
    partitionSecret: secret ?? randomBytes(32).toString('hex'),
    l1: {
      maxEntries: positive('l1.maxEntries', options.l1?.maxEntries ?? 1000, true),
      maxEntryBytes: positive('l1.maxEntryBytes', options.l1?.maxEntryBytes ?? 1_048_576, true),
      ttlMs: positive('l1.ttlMs', options.l1?.ttlMs ?? 10_000, true),
    },
    pricing: options.pricing ?? {},
    unknownModelPrice: options.unknownModelPrice,
    coalesce: {
      waitTimeoutMs: positive('coalesce.waitTimeoutMs', options.coalesce?.waitTimeoutMs ?? 30_000),
      lockTtlMs: positive('coalesce.lockTtlMs', options.coalesce?.lockTtlMs ?? 60_000),
      pollIntervalMs: positive('coalesce.pollIntervalMs', options.coalesce?.pollIntervalMs ?? 25),
    },
  };
}
