import type { Request } from 'express';
import type { CookieOptions, SessionOptions } from 'express-session';
import type {
  SessionCookieOptions,
  SessionModuleOptions,
  SessionRoute,
  SessionSecret,
} from './session-module-options.interface';
import { SessionOptionsError } from './session.errors';

const HOUR_MS = 3_600_000;
const MIN_SECRET_BYTES = 32;
const KNOWN_DEFAULTS = ['keyboard cat', 'secret', 'changeme', 'change-me', 'your-secret-key'];
const GENERATE_HINT =
  "generate one with `node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"` " +
  'and pass it from the environment (e.g. SESSION_SECRET)';

/** The store's own settings (what `RedisSessionStore` takes besides the client). */
export interface ResolvedStoreOptions {
  ttlMs: number;
  absoluteTtlMs: number;
  prefix: string;
  legacyPrefix?: string;
  touchIntervalMs: number;
  maxSessionsPerUser: number;
  storeTimeoutMs: number;
  /** `express-session`'s `proxy`: how the store tells whether a Secure cookie can be sent. */
  proxy?: boolean;
  clock: () => number;
}

/** The options with every default filled in and checked: what the module runs on. */
export interface ResolvedSessionOptions extends ResolvedStoreOptions {
  secrets: SessionSecret[];
  cookieName: string;
  /** The cookie options `express-session` gets (the kit's defaults under the app's). */
  cookie: CookieOptions | ((req: Request) => CookieOptions);
  /** The other `express-session` options, as given (store and genid are set by the runtime). */
  express: Omit<SessionOptions, 'secret' | 'cookie' | 'store' | 'name'>;
  /** The app's own store, replacing the kit's. */
  store?: SessionModuleOptions['store'];
  routes: (string | SessionRoute)[];
  exclude: (string | SessionRoute)[];
  maxMemorySessions: number;
  /** Start-up warnings (a weak secret outside production), logged once by the runtime. */
  warnings: string[];
}

function fail(message: string): never {
  throw new SessionOptionsError(`SessionModule: ${message}`);
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0))
    fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}.`);
  return value;
}

/** Why a secret (a string, or a `Buffer` of its bytes) is weak, or undefined when it is not. */
function weakness(value: SessionSecret): string | undefined {
  const text = typeof value === 'string' ? value : value.toString('latin1');
  if (KNOWN_DEFAULTS.includes(text.toLowerCase())) return 'is a well-known default value';
  const bytes = Buffer.byteLength(value);
  if (bytes < MIN_SECRET_BYTES) return `is ${bytes} bytes; it must be at least ${MIN_SECRET_BYTES}`;
  if (new Set(text).size < 8) return 'repeats too few characters to be a random secret';
  return undefined;
}

/**
 * A missing secret refuses to start anywhere; a weak one in production (a warning elsewhere).
 * A secret is a string or a `Buffer`, as `express-session` (>= 1.18) takes it.
 */
function checkSecrets(secret: unknown, production: boolean, warnings: string[]): SessionSecret[] {
  const secrets = Array.isArray(secret) ? (secret as unknown[]) : [secret];
  if (secret === undefined || secret === '' || secrets.length === 0)
    fail(`a \`secret\` is required to sign the session cookie: ${GENERATE_HINT}.`);
  return secrets.map((value, i) => {
    const where = Array.isArray(secret) ? `secret[${i}]` : 'secret';
    const usable = typeof value === 'string' || Buffer.isBuffer(value);
    if (!usable || value.length === 0)
      fail(`${where} must be a non-empty string or Buffer: ${GENERATE_HINT}.`);
    const weak = weakness(value);
    if (weak && production) fail(`${where} ${weak}: ${GENERATE_HINT}.`);
    if (weak)
      warnings.push(
        `SessionModule: ${where} ${weak}; this is refused in production: ${GENERATE_HINT}.`,
      );
    return value;
  });
}

/** The kit's cookie defaults under the app's cookie options, checked. */
function resolveCookie(
  given: SessionCookieOptions,
  environment: string,
  absoluteTtlMs: number,
): { cookie: CookieOptions; name?: string } {
  const { name, ...rest } = given;
  const secure = rest.secure ?? environment !== 'development';
  if (environment === 'production' && secure !== true)
    fail(
      `cookie.secure is ${String(secure)} in production, so the session cookie could travel over plain HTTP. ` +
        "Set cookie.secure: true (behind a TLS-terminating proxy also call app.set('trust proxy', 1), or set proxy: true).",
    );
  const sameSite = rest.sameSite ?? 'lax';
  if (sameSite === 'none' && secure !== true)
    fail("cookie.sameSite 'none' needs cookie.secure: true (browsers drop it otherwise).");
  const lifetime = 'maxAge' in rest || 'expires' in rest ? {} : { maxAge: absoluteTtlMs };
  const cookie: CookieOptions = {
    path: '/',
    httpOnly: true,
    ...lifetime,
    ...rest,
    secure,
    sameSite,
  };
  return { cookie, name };
}

function checkName(name: string, cookie: CookieOptions): void {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name))
    fail(`the cookie name ${JSON.stringify(name)} is not a valid cookie name.`);
  if (
    name.startsWith('__Host-') &&
    (cookie.secure !== true || cookie.path !== '/' || cookie.domain !== undefined)
  )
    fail(
      `the cookie name ${name} needs cookie.secure: true, path '/' and no domain; pick another name or set them.`,
    );
}

/** The store's settings with their defaults, checked (the module's and `RedisSessionStore`'s). */
export function resolveStoreOptions(
  options: Partial<Omit<ResolvedStoreOptions, 'clock'>> & { clock?: () => number },
): ResolvedStoreOptions {
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
  const prefix = options.prefix ?? 'sess:';
  if (/[{}]/.test(prefix)) fail('prefix must not contain braces (they are the hash tag).');
  if (options.legacyPrefix !== undefined && /[{}]/.test(options.legacyPrefix))
    fail('legacyPrefix must not contain braces.');
  return {
    ttlMs,
    absoluteTtlMs,
    prefix,
    legacyPrefix: options.legacyPrefix,
    touchIntervalMs,
    maxSessionsPerUser: positive('maxSessionsPerUser', options.maxSessionsPerUser ?? 0, true),
    storeTimeoutMs: positive('storeTimeoutMs', options.storeTimeoutMs ?? 1000),
    proxy: options.proxy,
    clock: options.clock ?? Date.now,
  };
}

/**
 * Merges the defaults into the options and refuses a dangerous or unusable configuration
 * with a message that says how to fix it. Called once, at start-up.
 */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  const environment = options.environment ?? process.env.NODE_ENV ?? 'development';
  const production = environment === 'production';
  const warnings: string[] = [];
  const secrets = checkSecrets(options.secret, production, warnings);
  const storeOptions = resolveStoreOptions(options);
  const { absoluteTtlMs } = storeOptions;

  const given = options.cookie;
  let cookie: ResolvedSessionOptions['cookie'];
  let cookieName: string;
  if (typeof given === 'function') {
    // Checked per request by express-session; the kit's defaults still apply underneath.
    const defaults = resolveCookie({}, environment, absoluteTtlMs).cookie;
    cookie = (req) => ({ ...defaults, ...given(req) });
    cookieName = options.name ?? 'sid';
  } else {
    const resolved = resolveCookie(given ?? {}, environment, absoluteTtlMs);
    cookie = resolved.cookie;
    const hostOnly = cookie.secure === true && cookie.path === '/' && cookie.domain === undefined;
    cookieName = options.name ?? resolved.name ?? (hostOnly ? '__Host-sid' : 'sid');
    checkName(cookieName, cookie);
  }

  if (options.genid !== undefined && typeof options.genid !== 'function')
    fail('genid must be a function of the request returning a new session id.');

  return {
    ...storeOptions,
    secrets,
    cookieName,
    cookie,
    express: {
      genid: options.genid,
      resave: options.resave ?? false,
      saveUninitialized: options.saveUninitialized ?? false,
      rolling: options.rolling ?? false,
      proxy: options.proxy,
      unset: options.unset,
    },
    store: options.store,
    routes: options.routes ?? [],
    exclude: options.exclude ?? [],
    maxMemorySessions: positive('maxMemorySessions', options.maxMemorySessions ?? 10_000),
    warnings,
  };
}
