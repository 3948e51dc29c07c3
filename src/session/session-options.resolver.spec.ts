import type { CookieOptions } from 'express-session';
import { resolveSessionOptions } from './session-options.resolver';
import { SessionOptionsError } from './session.errors';

const SECRET = 'unit-secret-0123456789-abcdefghijklmnop';

describe('resolveSessionOptions', () => {
  it.each([
    ['no secret', {}, /a `secret` is required.*randomBytes\(32\)/],
    ['an empty secret', { secret: '' }, /a `secret` is required/],
    ['an empty rotation array', { secret: [] }, /a `secret` is required/],
  ])('refuses %s in every environment', (_, options, message) => {
    for (const environment of ['production', 'development', 'test']) {
      const attempt = () => resolveSessionOptions({ ...options, environment } as never);
      expect(attempt).toThrow(SessionOptionsError);
      expect(attempt).toThrow(message);
    }
  });

  const weak = [
    ['a short secret', { secret: 'too-short-secret' }, /16 bytes; it must be at least 32/],
    ['a well-known default', { secret: 'keyboard cat' }, /well-known default/],
    ['a repetitive secret', { secret: 'a'.repeat(40) }, /too few characters/],
    ['a short secret in the rotation array', { secret: [SECRET, 'old'] }, /secret\[1\] is 3 bytes/],
  ] as const;

  it.each(weak)('refuses %s in production, saying how to fix it', (_, options, message) => {
    const attempt = () => resolveSessionOptions({ ...options, environment: 'production' } as never);
    expect(attempt).toThrow(SessionOptionsError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/randomBytes\(32\)/);
  });

  it.each(weak)('accepts %s outside production with a warning', (_, options, message) => {
    for (const environment of ['development', 'test']) {
      const resolved = resolveSessionOptions({ ...options, environment } as never);
      expect(resolved.warnings).toHaveLength(1);
      expect(resolved.warnings[0]).toMatch(message);
      expect(resolved.warnings[0]).toMatch(/refused in production/);
    }
  });

  it('refuses an insecure cookie in production and says what to set', () => {
    for (const secure of [false, 'auto'] as const) {
      expect(() =>
        resolveSessionOptions({ secret: SECRET, environment: 'production', cookie: { secure } }),
      ).toThrow(/Set cookie.secure: true.*trust proxy/);
    }
  });

  it.each([
    ['touchIntervalMs >= ttlMs', { ttlMs: 1000, touchIntervalMs: 1000 }, /touchIntervalMs/],
    ['absoluteTtlMs < ttlMs', { ttlMs: 1000, absoluteTtlMs: 500 }, /absoluteTtlMs/],
    ['a negative cap', { maxSessionsPerUser: -1 }, /maxSessionsPerUser/],
    ['a braced prefix', { prefix: 'a{b}:' }, /braces/],
    ['__Host- without Secure', { cookie: { name: '__Host-x', secure: false } }, /__Host-x/],
    ['SameSite=None without Secure', { cookie: { sameSite: 'none', secure: false } }, /'none'/],
  ])('refuses %s', (_, options, message) => {
    expect(() => resolveSessionOptions({ secret: SECRET, ...options } as never)).toThrow(message);
  });

  it('defaults to a Secure HttpOnly SameSite=Lax __Host- cookie outside development', () => {
    const resolved = resolveSessionOptions({ secret: SECRET, environment: 'production' });
    expect(resolved.cookieName).toBe('__Host-sid');
    const cookie = resolved.cookie as CookieOptions;
    expect(cookie).toEqual(
      expect.objectContaining({ httpOnly: true, secure: true, sameSite: 'lax', path: '/' }),
    );
    expect(cookie.domain).toBeUndefined();
    expect(cookie.maxAge).toBe(resolved.absoluteTtlMs);
    expect(resolved.warnings).toEqual([]);
    expect(resolved.ttlMs).toBe(24 * 3_600_000);
    expect(resolved.prefix).toBe('sess:');
    expect(resolved.touchIntervalMs).toBe(60_000);
  });

  it('drops Secure and the __Host- prefix in development only', () => {
    const resolved = resolveSessionOptions({ secret: SECRET, environment: 'development' });
    expect(resolved.cookieName).toBe('sid');
    expect((resolved.cookie as CookieOptions).secure).toBe(false);
  });

  it('names the cookie sid when a Domain or another Path rules out __Host-', () => {
    for (const cookie of [{ domain: 'example.com' }, { path: '/app' }])
      expect(resolveSessionOptions({ secret: SECRET, cookie }).cookieName).toBe('sid');
    expect(() =>
      resolveSessionOptions({ secret: SECRET, name: '__Host-x', cookie: { path: '/app' } }),
    ).toThrow(/__Host-x needs/);
  });

  it("keeps the app's cookie lifetime and the express-session options as given", () => {
    const genid = () => 'x';
    const resolved = resolveSessionOptions({
      secret: SECRET,
      name: 'app.sid',
      cookie: { expires: new Date(0), partitioned: true, priority: 'high' },
      genid,
      resave: true,
      saveUninitialized: true,
      rolling: true,
      proxy: true,
      unset: 'destroy',
    });
    expect(resolved.cookieName).toBe('app.sid');
    expect(resolved.cookie).not.toHaveProperty('maxAge');
    expect(resolved.cookie).toEqual(
      expect.objectContaining({ partitioned: true, priority: 'high' }),
    );
    expect(resolved.express).toEqual({
      genid,
      resave: true,
      saveUninitialized: true,
      rolling: true,
      proxy: true,
      unset: 'destroy',
    });
  });

  it('keeps every secret of a rotation array, the first one signing', () => {
    const old = 'old-secret-0123456789-abcdefghijklmnopq';
    expect(resolveSessionOptions({ secret: [SECRET, old] }).secrets).toEqual([SECRET, old]);
  });
});
