import type { CookieOptions } from 'express-session';
import type { SessionModuleOptions, SessionRoute } from './session-module-options.interface';
import { SessionOptionsError } from './session.errors';

const HOUR_MS = 3_600_000;
const MIN_SECRET_BYTES = 32;
const KNOWN_DEFAULTS = ['keyboard cat', 'secret', 'changeme', 'change-me', 'your-secret-key'];
const GENERATE_HINT =
  "generate one with `node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"` " +
  'and pass it from the environment (e.g. SESSION_SECRET)';

/** The options with every default filled in and checked: what the module runs on. */
export interface ResolvedSessionOptions {
  secrets: string[];
  ttlMs: number;
  absoluteTtlMs: number;
  prefix: string;
  cookieName: string;
  cookie: CookieOptions;
  touchIntervalMs: number;
  maxSessionsPerUser: number;
  routes: (string | SessionRoute)[];
  exclude: (string | SessionRoute)[];
  storeTimeoutMs: number;
  maxMemorySessions: number;
  clock: () => number;
}

function fail(message: string): never {
  throw new SessionOptionsError(`SessionModule: ${message}`);
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0))
    fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}.`);
  return value;
}

function checkSecrets(secret: unknown): string[] {
  const secrets = Array.isArray(secret) ? (secret as unknown[]) : [secret];
  if (secret === undefined || secrets.length === 0)
    fail(`a \`secret\` is required to sign the session cookie: ${GENERATE_HINT}.`);
  return secrets.map((value, i) => {
    const where = Array.isArray(secret) ? `secret[${i}]` : 'secret';
    if (typeof value !== 'string') fail(`${where} must be a string: ${GENERATE_HINT}.`);
    if (KNOWN_DEFAULTS.includes(value.toLowerCase()))
      fail(`${where} is a well-known default value: ${GENERATE_HINT}.`);
    if (Buffer.byteLength(value) < MIN_SECRET_BYTES)
      fail(
        `${where} is ${Buffer.byteLength(value)} bytes; it must be at least ${MIN_SECRET_BYTES}: ${GENERATE_HINT}.`,
      );
    if (new Set(value).size < 8)
      fail(`${where} repeats too few characters to be a random secret: ${GENERATE_HINT}.`);
    return value;
  });
}

/**
 * Merges the defaults into the options and refuses a dangerous or unusable configuration
 * with a message that says how to fix it. Called once, at start-up.
 */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  const environment = options.environment ?? process.env.NODE_ENV ?? 'development';
  const production = environment === 'production';
  const secrets = checkSecrets(options.secret);
  const ttlMs = positive('ttlMs', options.ttlMs ?? 24 * HOUR_MS);
  const absoluteTtlMs = positive('absoluteTtlMs', options.absoluteTtlMs ?? 7 * 24 * HOUR_MS);
  if (absoluteTtlMs < ttlMs)
    fail(`absoluteTtlMs (${absoluteTtlMs}) must be at least ttlMs (${ttlMs}).`);
  const touchIntervalMs = positive(
    'touchIntervalMs',
    options.touchIntervalMs ?? Math.min(60_000, Math.floor(ttlMs / 10)),
    true,
  );
  if (touchIntervalMs >= ttlMs)
    fail(`touchIntervalMs (${touchIntervalMs}) must be shorter than ttlMs (${ttlMs}).`);

  const secure = options.cookie?.secure ?? environment !== 'development';
  if (production && secure !== true)
    fail(
      `cookie.secure is ${String(secure)} in production, so the session cookie could travel over plain HTTP. ` +
        "Set cookie.secure: true (behind a TLS-terminating proxy also call app.set('trust proxy', 1)).",
    );
  const sameSite = options.cookie?.sameSite ?? 'lax';
  if (sameSite === 'none' && secure !== true)
    fail("cookie.sameSite 'none' needs cookie.secure: true (browsers drop it otherwise).");
  const cookieName = options.cookie?.name ?? (secure === true ? '__Host-sid' : 'sid');
  if (cookieName.startsWith('__Host-') && secure !== true)
    fail(`the cookie name ${cookieName} needs cookie.secure: true; pick another name or set it.`);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName))
    fail(`cookie.name ${JSON.stringify(cookieName)} is not a valid cookie name.`);

  const prefix = options.prefix ?? 'sess:';
  if (/[{}]/.test(prefix)) fail('prefix must not contain braces (they are the hash tag).');

  return {
    secrets,
    ttlMs,
    absoluteTtlMs,
    prefix,
    cookieName,
    cookie: { httpOnly: true, secure, sameSite, path: '/', maxAge: absoluteTtlMs },
    touchIntervalMs,
    maxSessionsPerUser: positive('maxSessionsPerUser', options.maxSessionsPerUser ?? 0, true),
    routes: options.routes ?? [],
    exclude: options.exclude ?? [],
    storeTimeoutMs: positive('storeTimeoutMs', options.storeTimeoutMs ?? 1000),
    maxMemorySessions: positive('maxMemorySessions', options.maxMemorySessions ?? 10_000),
    clock: options.clock ?? Date.now,
  };
}
