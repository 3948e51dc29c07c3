import { resolveSessionOptions } from './session-options.resolver';
import { SessionOptionsError } from './session.errors';

const SECRET = 'unit-secret-0123456789-abcdefghijklmnop';

describe('resolveSessionOptions', () => {
  it.each([
    ['no secret', {}, /a `secret` is required.*randomBytes\(32\)/],
    ['a short secret', { secret: 'too-short-secret' }, /16 bytes; it must be at least 32/],
    ['a well-known default', { secret: 'keyboard cat' }, /well-known default/],
    ['a repetitive secret', { secret: 'a'.repeat(40) }, /too few characters/],
    ['a short secret in the rotation array', { secret: [SECRET, 'old'] }, /secret\[1\] is 3 bytes/],
    ['an empty rotation array', { secret: [] }, /a `secret` is required/],
  ])('refuses %s with a message saying how to fix it', (_, options, message) => {
    const attempt = () => resolveSessionOptions(options as never);
    expect(attempt).toThrow(SessionOptionsError);
    expect(attempt).toThrow(message);
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
    expect(resolved.cookie).toEqual(
      expect.objectContaining({ httpOnly: true, secure: true, sameSite: 'lax', path: '/' }),
    );
    expect(resolved.cookie.domain).toBeUndefined();
    expect(resolved.ttlMs).toBe(24 * 3_600_000);
    expect(resolved.prefix).toBe('sess:');
    expect(resolved.touchIntervalMs).toBe(60_000);
  });

  it('drops Secure and the __Host- prefix in development only', () => {
    const resolved = resolveSessionOptions({ secret: SECRET, environment: 'development' });
    expect(resolved.cookieName).toBe('sid');
    expect(resolved.cookie.secure).toBe(false);
  });

  it('keeps every secret of a rotation array, the first one signing', () => {
    const old = 'old-secret-0123456789-abcdefghijklmnopq';
    expect(resolveSessionOptions({ secret: [SECRET, old] }).secrets).toEqual([SECRET, old]);
  });
});
