import { MemoryThrottleStore } from './memory-throttle.store';

const check = (key: string, cost = 1, limit = 10, periodMs = 1000) => ({
  key,
  limit,
  periodMs,
  cost,
});

describe('MemoryThrottleStore (GCRA)', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('allows a burst of the whole limit, then one unit per period / limit', () => {
    const store = new MemoryThrottleStore(100, clock);
    for (let i = 0; i < 10; i++) expect(store.consumeSync([check('k')]).allowed).toBe(true);
    const rejected = store.consumeSync([check('k')]);
    expect(rejected.allowed).toBe(false);
    expect(rejected.results[0]).toMatchObject({ remaining: 0, retryAfterMs: 100, passed: false });
    now += 100;
    expect(store.consumeSync([check('k')]).allowed).toBe(true);
    expect(store.consumeSync([check('k')]).allowed).toBe(false);
  });

  it('spends nothing when one of several checks rejects', () => {
    const store = new MemoryThrottleStore(100, clock);
    store.consumeSync([check('small', 1, 1)]);
    const answer = store.consumeSync([check('big'), check('small', 1, 1)]);
    expect(answer.allowed).toBe(false);
    expect(answer.results.map((r) => r.passed)).toEqual([true, false]);
    expect(store.consumeSync([check('big', 10)]).allowed).toBe(true);
  });

  it('refunds an expired lease and settles a live one to the actual amount', () => {
    const store = new MemoryThrottleStore(100, clock);
    const leased = { ...check('b', 8), lease: { id: 'l1', ttlMs: 50 } };
    expect(store.consumeSync([leased]).allowed).toBe(true);
    expect(store.consumeSync([check('b', 5)]).allowed).toBe(false);
    now += 50; // lease expired: its 8 units come back (refill alone would give 0.5)
    expect(store.consumeSync([check('b', 5)]).allowed).toBe(true);
    return store
      .settle([{ key: 'b', limit: 10, periodMs: 1000, reserved: 8, actual: 3, leaseId: 'l1' }])
      .then(() => {
        // The lease was already refunded, so the settlement charges the actual 3 in full.
        expect(store.consumeSync([check('b', 3)]).allowed).toBe(false);
        expect(store.consumeSync([check('b', 2)]).allowed).toBe(true);
      });
  });

  it('keeps at most maxKeys entries and forgets entries once they are fully replenished', () => {
    const store = new MemoryThrottleStore(50, clock);
    for (let i = 0; i < 500; i++) store.consumeSync([check(`k${i}`)]);
    expect(store.size).toBe(50);
    now += 10_000;
    for (let i = 0; i < 30; i++) store.consumeSync([check(`fresh${i}`)]);
    expect(store.size).toBeLessThan(50);
  });
});
