import { MemorySessionBackend } from './memory-session.backend';

const ref = (idHash: string, tag = 'a'.repeat(16)) => ({ tag, idHash });

describe('MemorySessionBackend', () => {
  it('keeps at most maxSessions, dropping the least recently used', async () => {
    const backend = new MemorySessionBackend(3, Date.now);
    const far = Date.now() + 60_000;
    for (const id of ['1', '2', '3', '4'])
      await backend.create(ref(id), { c: id, s: id }, far, 0, far);
    expect(await backend.read(ref('1'))).toEqual({});
    expect({ ...(await backend.read(ref('4'))) }).toEqual({ c: '4', s: '4' });
    expect((await backend.list('a'.repeat(16))).map((row) => row.idHash)).toEqual(['2', '3', '4']);
  });

  it('never recreates a removed session on patch, and merges fields otherwise', async () => {
    const backend = new MemorySessionBackend(10, Date.now);
    const far = Date.now() + 60_000;
    await backend.create(ref('x'), { c: '1', s: '1', 'd:a': '1' }, far, 0, far);
    expect(await backend.patch(ref('x'), { 'd:b': '2' }, [], far)).toBe(true);
    expect({ ...(await backend.read(ref('x'))) }).toEqual({
      c: '1',
      s: '1',
      'd:a': '1',
      'd:b': '2',
    });
    expect(await backend.remove(ref('x'))).toBe(true);
    expect(await backend.patch(ref('x'), { 'd:c': '3' }, [], far)).toBe(false);
    expect(await backend.read(ref('x'))).toEqual({});
  });

  it('drops a session once its expiry time has passed', async () => {
    let now = 1_000;
    const backend = new MemorySessionBackend(10, () => now);
    await backend.create(ref('e'), { c: '1000', s: '1000' }, 2_000, 0, 5_000);
    now = 2_000;
    expect(await backend.read(ref('e'))).toEqual({});
  });

  it('prunes the per-user index with its sessions (bounded by the sessions kept)', async () => {
    let now = 1_000;
    const backend = new MemorySessionBackend(5, () => now);
    for (let user = 0; user < 50; user++)
      await backend.create(
        ref(`s${user}`, user.toString(16).padStart(16, '0')),
        { c: '1', s: '1' },
        10_000,
        0,
        10_000,
      );
    expect(backend.indexedUsers()).toBe(5); // evicted sessions took their index entries along
    now = 20_000; // every session expired
    expect(await backend.scan()).toEqual([]);
    expect(backend.indexedUsers()).toBe(0);
    await backend.create(ref('r'), { c: '1', s: '1' }, 30_000, 0, 30_000);
    expect(await backend.remove(ref('r'))).toBe(true);
    expect(backend.indexedUsers()).toBe(0);
  });
});
