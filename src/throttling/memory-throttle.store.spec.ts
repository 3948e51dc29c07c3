import { MemoryThrottleStore } from './memory-throttle.store';
import { MAX_ENTRIES } from './sliding-log.lua';
import { chargeOf } from './throttle-store.interface';

const check = (key: string, cost = 1, limit = 10, periodMs = 1000) => ({
  key,
  limit,
  periodMs,
  cost,
});

describe('MemoryThrottleStore (sliding log)', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('admits the limit, then nothing until the oldest admission leaves: retryAfterMs is exact', () => {
    const store = new MemoryThrottleStore(100, clock);
    const c = check('exact', 1, 3, 2000);
    for (let i = 0; i < 3; i++) {
      store.consumeSync([c]);
      now += 200;
    }
    const rejected = store.consumeSync([c]);
    expect(rejected.results[0]).toMatchObject({ remaining: 0, retryAfterMs: 1400, passed: false });
    now += 1399;
    expect(store.consumeSync([c]).allowed).toBe(false);
    now += 1;
    expect(store.consumeSync([c]).allowed).toBe(true);
    expect(store.consumeSync([c]).allowed).toBe(false);
  });

  it('spends nothing when one of several checks rejects', () => {
    const store = new MemoryThrottleStore(100, clock);
    store.consumeSync([check('small', 1, 1)]);
    const answer = store.consumeSync([check('big'), check('small', 1, 1)]);
    expect(answer.allowed).toBe(false);
    expect(answer.results.map((r) => r.passed)).toEqual([true, false]);
    expect(store.consumeSync([check('big', 10)]).allowed).toBe(true);
  });

  it('answers Infinity for a cost larger than the whole limit', () => {
    const store = new MemoryThrottleStore(100, clock);
    expect(store.consumeSync([check('huge', 11)]).results[0]!.retryAfterMs).toBe(Infinity);
  });

  it('blocks a rejected tracker for blockMs, then starts afresh', () => {
    const store = new MemoryThrottleStore(100, clock);
    const blocking = { ...check('blk', 1, 2, 1000), blockMs: 5000 };
    store.consumeSync([blocking]);
    store.consumeSync([blocking]);
    expect(store.consumeSync([blocking]).results[0]).toMatchObject({ retryAfterMs: 5000 });
    now += 4999;
    expect(store.consumeSync([blocking]).results[0]).toMatchObject({ retryAfterMs: 1 });
    now += 1;
    expect(store.consumeSync([blocking]).results[0]).toMatchObject({ passed: true, remaining: 1 });
  });

  it('refunds an expired lease and settles a live one to the actual amount', async () => {
    const store = new MemoryThrottleStore(100, clock);
    const leased = { ...check('b', 8), lease: { id: 'l1', ttlMs: 50 } };
    const admitted = store.consumeSync([leased]);
    expect(admitted.allowed).toBe(true);
    expect(store.consumeSync([check('b', 5)]).allowed).toBe(false);
    now += 50; // lease expired: its 8 units come back
    expect(store.consumeSync([check('b', 5)]).allowed).toBe(true);
    await store.settle([{ charge: chargeOf(leased, admitted.results[0]), actual: 3 }]);
    // The lease was already refunded, so the settlement charges the actual 3 in full.
    expect(store.consumeSync([check('b', 3)]).allowed).toBe(false);
    expect(store.consumeSync([check('b', 2)]).allowed).toBe(true);
    const live = { ...check('c', 8), lease: { id: 'l2', ttlMs: 500 } };
    const result = store.consumeSync([live]).results[0];
    await store.settle([{ charge: chargeOf(live, result), actual: 2 }]);
    expect(store.consumeSync([check('c', 8)]).allowed).toBe(true);
    expect(store.consumeSync([check('c', 1)]).allowed).toBe(false);
  });

  it(`keeps at most ${MAX_ENTRIES + 1} entries per key and still never admits more than the limit`, () => {
    const store = new MemoryThrottleStore(100, clock);
    const admitted: number[] = [];
    for (let i = 0; i < 5000; i++) {
      now += 1;
      if (store.consumeSync([check('many', 1, 100, 1000)]).allowed) admitted.push(now);
    }
    const log = (store as unknown as { logs: Map<string, { t: number[] }> }).logs.get('many')!;
    expect(log.t.length).toBeLessThanOrEqual(MAX_ENTRIES + 1);
    for (let i = 0; i + 100 < admitted.length; i++)
      expect(admitted[i + 100]! - admitted[i]!).toBeGreaterThanOrEqual(1000);
    expect(admitted.length).toBeGreaterThan(400);
  });

  it('keeps at most maxKeys logs and forgets logs once they are empty', () => {
    const store = new MemoryThrottleStore(50, clock);
    for (let i = 0; i < 500; i++) store.consumeSync([check(`k${i}`)]);
    expect(store.size).toBe(50);
    now += 10_000;
    for (let i = 0; i < 30; i++) store.consumeSync([check(`fresh${i}`)]);
    expect(store.size).toBeLessThan(50);
  });
});
