import { handleOf, newSessionId, refOf, refOfHandle, userTag } from './session-id';

describe('session ids', () => {
  it('puts a user session in the user slot and hashes the id', () => {
    const id = newSessionId(userTag('42'));
    const ref = refOf(id)!;
    expect(ref.tag).toBe(userTag('42'));
    expect(ref.idHash).toMatch(/^[0-9a-f]{32}$/);
    expect(ref.idHash).not.toContain(id.split('.')[1]!);
    expect(refOfHandle(handleOf(ref))).toEqual(ref);
  });

  it('gives anonymous sessions random slots and unique ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSessionId()));
    expect(ids.size).toBe(100);
    expect(new Set([...ids].map((id) => refOf(id)!.tag)).size).toBeGreaterThan(90);
  });

  it.each(['', 'x'.repeat(513)])('rejects %j as a session id', (value) =>
    expect(refOf(value)).toBeUndefined(),
  );

  it.each([
    'abc',
    'x'.repeat(60),
    `${'g'.repeat(16)}.${'a'.repeat(43)}`,
    `{tag}.${'a'.repeat(43)}`,
  ])('puts a foreign id (an app genid, connect-redis) %j in a slot of its own hash', (value) => {
    const ref = refOf(value)!;
    expect(ref.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(ref.idHash.startsWith(ref.tag)).toBe(true);
    expect(JSON.stringify(ref)).not.toContain(value.slice(0, 10));
  });

  it('does not put the user id in the tag', () => {
    expect(userTag('alice@example.com')).not.toContain('alice');
  });
});
