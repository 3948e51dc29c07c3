import { withDeadline } from '../redis/deadline';
import { digest, hashTag } from '../redis/redis-keys';
import { RedisScript } from '../redis/redis-script';
import type { RedisConnection } from '../redis/redis.types';
import { type CacheEntry, parseEntry, serializeEntry } from './cache-entry';

// The entry or, when there is none, the lock of its upstream call: one round trip for a
// would-be leader and for every poll of a waiter. KEYS: entry, lock. ARGV: token, lockTtlMs,
// '1' to take the lock whatever entry there is (it is only kept to be served on error).
const GET_OR_LOCK = new RedisScript(`
if ARGV[3] ~= '1' then
  local value = redis.call('GET', KEYS[1])
  if value then return {1, value} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`);

// Stores the entry and releases the caller's lock together, so a waiter that sees the lock
// gone sees the entry, and tells the waiters of every instance (PUBLISH of the key hash) so
// they look again at once instead of at their next poll.
// KEYS: entry, lock. ARGV: value, ttlMs, token ('' = no lock), channel, hash.
const SET_AND_UNLOCK = new RedisScript(`
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return 1
`);

// KEYS: tag set. ARGV: member, ttlMs.
const TAG_ADD = new RedisScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`);

/** What a would-be leader finds: an entry, the lock (it leads), or neither (someone else leads). */
export type GetOrLock = { entry: CacheEntry } | { locked: boolean };

/** A shared second-level store behind the in-process L1 (internal). */
export interface CacheL2 {
  get(hash: string): Promise<CacheEntry | undefined>;
  /** `overStale`: an entry there is stale, look for the lock only. */
  getOrLock(
    hash: string,
    token: string,
    lockTtlMs: number,
    overStale?: boolean,
  ): Promise<GetOrLock>;
  setAndUnlock(hash: string, entry: CacheEntry | undefined, token?: string): Promise<void>;
  /**
   * Whether some instance holds the lock of `hash` (its upstream call is on its way), without
   * taking it. Optional: a store without cross-instance locks has no such calls to see.
   */
  lockHeld?(hash: string): Promise<boolean>;
  /**
   * Calls `onUnlock(hash)` whenever any instance releases the lock of an upstream call;
   * resolves to a function that stops listening. Optional: without it waiters only poll.
   */
  watchUnlocks?(onUnlock: (hash: string) => void): Promise<() => Promise<void>>;
  delete(hash: string): Promise<void>;
  deleteTag(tag: string): Promise<string[]>;
}

/**
 * The Redis L2: one string per entry under `<prefix>:{<hash>}` (the hash tag keeps an entry
 * and its lock in one cluster slot), written by our own few commands on the shared client.
 *
 * @example
 * const l2 = new RedisCacheStore(redis, 'llm:cache');
 */
export class RedisCacheStore implements CacheL2 {
  /** @param timeoutMs the bound on each call's reply (RedisModule's commandTimeoutMs). */
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly timeoutMs = 2000,
  ) {}

  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.timeoutMs, what);
  }

  /** The pub/sub channel of lock releases (key hashes only, never parameters). */
  get channel(): string {
    return `${this.prefix}:unlocked`;
  }

  /**
   * Listens for lock releases on a connection of its own (a subscribed connection cannot run
   * other commands), duplicated from the shared one. If it cannot subscribe, waiters poll.
   */
  async watchUnlocks(onUnlock: (hash: string) => void): Promise<() => Promise<void>> {
    const subscriber = this.redis.duplicate() as RedisConnection;
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    await subscriber.subscribe(this.channel, (message: string) => onUnlock(message));
    return async () => {
      try {
        await subscriber.close();
      } catch {
        subscriber.destroy();
      }
    };
  }

  entryKey(hash: string): string {
    return `${this.prefix}:{${hash}}`;
  }

  private lockKey(hash: string): string {
    return `${this.prefix}:{${hash}}:lock`;
  }

  private tagKey(tag: string): string {
    return `${this.prefix}:tag:${hashTag(digest(tag, 32))}`;
  }

  get(hash: string): Promise<CacheEntry | undefined> {
    // Promise chains rather than async functions: this is every Redis hit's path.
    return this.bounded(this.redis.get(this.entryKey(hash)), 'a cache read').then((raw) =>
      raw === null ? undefined : this.parse(hash, raw),
    );
  }

  /** Parses an entry; a corrupt one is deleted (so the next request stores a good one) and reported. */
  private parse(hash: string, raw: string): CacheEntry | Promise<never> {
    try {
      return parseEntry(raw);
    } catch (error) {
      return this.redis.del(this.entryKey(hash)).then(
        () => Promise.reject(error as Error),
        () => Promise.reject(error as Error),
      );
    }
  }

  async getOrLock(
    hash: string,
    token: string,
    lockTtlMs: number,
    overStale = false,
  ): Promise<GetOrLock> {
    const reply = (await this.bounded(
      GET_OR_LOCK.run(
        this.redis,
        [this.entryKey(hash), this.lockKey(hash)],
        [token, String(lockTtlMs), overStale ? '1' : '0'],
      ),
      'a cache lock',
    )) as [number, string?];
    if (reply[0] === 1) return { entry: await this.parse(hash, reply[1] ?? '') };
    return { locked: reply[0] === 2 };
  }

  lockHeld(hash: string): Promise<boolean> {
    return this.bounded(this.redis.exists(this.lockKey(hash)), 'a cache lock read').then(
      (count) => count > 0,
    );
  }

  /** Stores the entry (when given) and releases the lock held with `token` (when given). */
  async setAndUnlock(hash: string, entry: CacheEntry | undefined, token = ''): Promise<void> {
    const ttlMs = entry ? Math.max(1, entry.expiresAt - Date.now()) : 0;
    await this.bounded(
      SET_AND_UNLOCK.run(
        this.redis,
        [this.entryKey(hash), this.lockKey(hash)],
        [entry ? serializeEntry(entry) : '', String(ttlMs), token, this.channel, hash],
      ),
      'a cache write',
    );
    if (entry?.tags) {
      for (const tag of entry.tags)
        await this.bounded(
          TAG_ADD.run(this.redis, [this.tagKey(tag)], [hash, String(ttlMs)]),
          'a cache tag write',
        );
    }
  }

  async delete(hash: string): Promise<void> {
    await this.bounded(this.redis.del(this.entryKey(hash)), 'a cache delete');
  }

  /** Deletes every entry of a tag; returns their hashes. */
  async deleteTag(tag: string): Promise<string[]> {
    const key = this.tagKey(tag);
    const hashes = await this.bounded(this.redis.sMembers(key), 'a cache tag read');
    // Entries live in slots of their own, so they go one by one (a DEL is idempotent).
    await this.bounded(
      Promise.all(hashes.map((hash) => this.redis.del(this.entryKey(hash)))),
      'a cache tag delete',
    );
    await this.bounded(this.redis.del(key), 'a cache tag delete');
    return hashes;
  }
}
