import { ChargeLedger, type LedgerCheck } from './charge-ledger';
import { ThrottlingService } from './throttling.service';
import { ThrottlingStats } from './throttling-stats.service';
import { resolveThrottlingOptions } from './throttling-options';
import { UsageMeter } from './usage-meter';

// The ledger on the embedded store (the same algorithm as Redis, see sliding-log.lua.ts):
// every charge ends once, whichever of settle or refund comes first.

function ledgerOf() {
  const options = resolveThrottlingOptions({ keyPrefix: 'spec:' });
  const throttling = new ThrottlingService(options);
  return {
    ledger: new ChargeLedger(options, throttling, new ThrottlingStats(options)),
    throttling,
  };
}

const requests = (limit: number): LedgerCheck => ({
  kind: 'requests',
  policy: 'r',
  key: 'spec:{t}:r',
  limit,
  periodMs: 60_000,
  cost: 1,
  onRedisError: 'local',
});

const tokens = (limit: number, cost: number, lease?: { id: string; ttlMs: number }) =>
  ({
    kind: 'tokens',
    policy: 't',
    key: 'spec:{t}:t',
    limit,
    periodMs: 60_000,
    cost,
    onRedisError: 'local',
    lease,
  }) satisfies LedgerCheck;

const usage = (total: number): UsageMeter => {
  const meter = new UsageMeter();
  meter.add({ usage: { prompt_tokens: total - 1, completion_tokens: 1, total_tokens: total } });
  return meter;
};

describe('ChargeLedger', () => {
  it('settles a leased budget to the usage where it was admitted', async () => {
    const { ledger } = ledgerOf();
    const reservation = ledger.reservationOf({ model: 'gpt-4o-mini', max_tokens: 600 });
    const first = await ledger.reserve(
      [tokens(1000, reservation.tokens, ledger.newLease())],
      reservation,
    );
    expect(first.allowed).toBe(true);
    await first.lease!.settle(usage(20));
    // 20 used: a second reservation of the same size fits the 1000.
    const second = await ledger.reserve([tokens(1000, reservation.tokens, ledger.newLease())]);
    expect(second.allowed).toBe(true);
  });

  it('ends each charge once: a refund after a settle gives back only what the settle left', async () => {
    const { ledger, throttling } = ledgerOf();
    const reservation = ledger.reservationOf({ model: 'gpt-4o-mini', max_tokens: 50 });
    const admitted = await ledger.reserve(
      [requests(1), tokens(100, reservation.tokens, ledger.newLease())],
      reservation,
    );
    await admitted.lease!.settle(usage(30));
    await admitted.lease!.settle(undefined); // no effect: the budget was settled already
    await admitted.lease!.refund(); // the request count comes back, the budget stays settled
    const probe = throttling.memory.consumeSync([requests(1), tokens(100, 70)]);
    expect(probe.allowed).toBe(true);
    expect(throttling.memory.consumeSync([tokens(100, 1)]).allowed).toBe(false);
  });

  it('charges a late charge one request per limit and the usage', async () => {
    const { ledger, throttling } = ledgerOf();
    const reservation = ledger.reservationOf({ model: 'gpt-4o-mini', max_tokens: 50 });
    await ledger.chargeLate([requests(1), tokens(100, reservation.tokens)], reservation, usage(40));
    expect(throttling.memory.consumeSync([requests(1)]).allowed).toBe(false);
    expect(throttling.memory.consumeSync([tokens(100, 60)]).allowed).toBe(true);
    expect(throttling.memory.consumeSync([tokens(100, 1)]).allowed).toBe(false);
  });
});
