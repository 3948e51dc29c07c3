import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  incrementAsThrottlerStorage,
  type ThrottlerStorageRecord,
} from './throttler-storage.adapter';
import { RedisScript, type RedisScriptReply } from '../redis/redis-script';
import type { RedisConnection } from '../redis/redis.types';
import { CONSUME_LUA, SETTLE_LUA } from './sliding-log.lua';
import {
  chargeOf,
  leaseKeyOf,
  leaseMember,
  type CheckResult,
  type ConsumeResult,
  type SettleItem,
  type ThrottleCheck,
  type ThrottleStore,
} from './throttle-store.interface';

const consumeScript = new RedisScript(CONSUME_LUA);
const settleScript = new RedisScript(SETTLE_LUA);

const tagOf = (key: string): string => key.slice(key.indexOf('{'), key.indexOf('}') + 1);

/** Indexes of the items, grouped by the hash tag of their key (one group per slot). */
function groupByTag(keys: string[]): number[][] {
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const tag = tagOf(key);
    const group = groups.get(tag);
    if (group) group.push(i);
    else groups.set(tag, [i]);
  });
  return [...groups.values()];
}

/**
 * The sliding-log limiter in Redis: every check of a request in ONE EVALSHA, all or nothing. On a Cluster, checks
 * whose keys carry different trackers live in different slots: they are evaluated one call
 * per tracker, and if a later call rejects, the earlier admissions are refunded.
 *
 * @example
 * const store = new RedisThrottleStore(redis);
 * // or as the storage of a plain ThrottlerModule:
 * ThrottlerModule.forRootAsync({
 *   inject: [REDIS_CLIENT],
 *   useFactory: (redis: RedisConnection) => ({ throttlers, storage: new RedisThrottleStore(redis) }),
 * });
 * const { allowed } = await store.consume([{ key: 'rl:{abc}:llm', limit: 20, periodMs: 60_000, cost: 1 }]);
 */
export class RedisThrottleStore implements ThrottleStore, ThrottlerStorage {
  private readonly cluster: boolean;

  constructor(private readonly redis: RedisConnection) {
    this.cluster = 'masters' in redis;
  }

  /**
   * `@nestjs/throttler`'s storage contract, so this store can back a plain `ThrottlerModule`.
   * `ttl` and `blockDuration` in ms (as `@nestjs/throttler` passes them); times come back in seconds.
   */
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration = 0,
  ): Promise<ThrottlerStorageRecord> {
    return incrementAsThrottlerStorage(this, key, ttl, limit, blockDuration, 'rl:nest:');
  }

  async consume(checks: ThrottleCheck[]): Promise<ConsumeResult> {
    if (!this.cluster) return this.consumeOne(checks);
    const groups = groupByTag(checks.map((c) => c.key));
    if (groups.length === 1) return this.consumeOne(checks);
    const results: CheckResult[] = new Array<CheckResult>(checks.length);
    const admitted: number[] = [];
    for (const indexes of groups) {
      const answer = await this.consumeOne(indexes.map((i) => checks[i]!));
      indexes.forEach((i, j) => (results[i] = answer.results[j]!));
      if (!answer.allowed) {
        await this.settle(
          admitted.map((i) => ({ charge: chargeOf(checks[i]!, results[i]), actual: 0 })),
        );
        return {
          allowed: false,
          results: results.map(
            (r) => r ?? { remaining: 0, resetMs: 0, retryAfterMs: 0, passed: true, atMs: 0 },
          ),
        };
      }
      admitted.push(...indexes);
    }
    return { allowed: true, results };
  }

  async settle(items: SettleItem[]): Promise<void> {
    if (items.length === 0) return;
    const groups = this.cluster
      ? groupByTag(items.map((item) => item.charge.key)).map((indexes) =>
          indexes.map((i) => items[i]!),
        )
      : [items];
    for (const group of groups) {
      await settleScript.run(
        this.redis,
        group.flatMap(({ charge }) => [charge.key, leaseKeyOf(charge.key)]),
        group.flatMap(({ charge, actual }) => [
          String(charge.limit),
          String(charge.periodMs),
          String(charge.amount),
          String(actual),
          charge.leaseId === undefined ? '' : leaseMember({ ...charge, leaseId: charge.leaseId }),
          String(charge.atMs),
        ]),
      );
    }
  }

  private async consumeOne(checks: ThrottleCheck[]): Promise<ConsumeResult> {
    // Plain loops: this runs on every request.
    const keys: string[] = [];
    const args: string[] = [];
    for (const c of checks) {
      keys.push(c.key, leaseKeyOf(c.key));
      args.push(
        String(c.limit),
        String(c.periodMs),
        String(c.cost),
        c.lease?.id ?? '',
        c.lease ? String(c.lease.ttlMs) : '0',
        c.blockMs ? String(c.blockMs) : '0',
      );
    }
    const reply = (await consumeScript.run(this.redis, keys, args)) as RedisScriptReply[];
    const n = (i: number): number => Number(reply[i]);
    const atMs = n(1);
    const results: CheckResult[] = [];
    for (let i = 0; i < checks.length; i++) {
      const retry = n(4 + i * 4);
      results.push({
        remaining: n(2 + i * 4),
        resetMs: n(3 + i * 4),
        retryAfterMs: retry < 0 ? Infinity : retry,
        passed: n(5 + i * 4) === 1,
        atMs,
      });
    }
    return {
      allowed: n(0) === 1,
      results,
    };
  }
}
