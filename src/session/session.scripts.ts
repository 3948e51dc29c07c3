import { RedisScript } from '../redis/redis-script';

// Every script touches the keys of one user slot only (`<prefix>{<tag>}:...`). Session keys
// other than KEYS[1] are built from the slot's key base, so they share the slot.

/**
 * KEYS: session, index. ARGV: idHash, createdMs, expireAtMs, cap, keyBase, indexExpireAtMs,
 * field, value, ... Writes the session, indexes it, drops stale index entries and evicts
 * the oldest sessions past the cap (a negative cap: not indexed). Returns the evicted id hashes.
 */
export const CREATE_SCRIPT = new RedisScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if tonumber(ARGV[4]) < 0 then return {} end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local live = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[5] .. m) == 1 then
    live[#live + 1] = m
  else
    redis.call('ZREM', KEYS[2], m)
  end
end
local evicted = {}
local cap = tonumber(ARGV[4])
if cap > 0 then
  local excess = #live - cap
  for i = 1, #live do
    if excess <= 0 then break end
    local m = live[i]
    if m ~= ARGV[1] then
      redis.call('DEL', ARGV[5] .. m)
      redis.call('ZREM', KEYS[2], m)
      evicted[#evicted + 1] = m
      excess = excess - 1
    end
  end
end
local current = redis.call('PEXPIRETIME', KEYS[2])
if current < tonumber(ARGV[6]) then redis.call('PEXPIREAT', KEYS[2], ARGV[6]) end
return evicted
`);

/**
 * KEYS: session. ARGV: expireAtMs, number of pairs, field, value, ..., fields to delete...
 * Never recreates a session that is gone (logged out, revoked, expired): returns 0 then.
 */
export const PATCH_SCRIPT = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n)) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`);

/** KEYS: session, index. ARGV: idHash. Returns 1 when the session existed. */
export const REMOVE_SCRIPT = new RedisScript(`
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
`);

/**
 * KEYS: index. ARGV: keyBase, metadata field names... Returns [idHash, values..., ...] for
 * each live session, oldest first, and drops index entries whose session is gone.
 */
export const LIST_SCRIPT = new RedisScript(`
local out = {}
local fields = {unpack(ARGV, 2)}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local values = redis.call('HMGET', ARGV[1] .. m, unpack(fields))
  if values[1] then
    out[#out + 1] = m
    for i = 1, #values do out[#out + 1] = values[i] or '' end
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`);

/** KEYS: index. ARGV: keyBase, idHash to keep ('' for none). Returns the deleted id hashes. */
export const REMOVE_ALL_SCRIPT = new RedisScript(`
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. m) == 1 then removed[#removed + 1] = m end
    redis.call('ZREM', KEYS[1], m)
  end
end
return removed
`);

/**
 * KEYS: counters hash, active sorted set (one stats slot). ARGV: created, destroyed,
 * revoked, number of active pairs, handle, expireAtMs, ..., inactive handles...
 */
export const COUNT_SCRIPT = new RedisScript(`
local names = {'created', 'destroyed', 'revoked'}
for i = 1, 3 do
  local n = tonumber(ARGV[i])
  if n ~= 0 then redis.call('HINCRBY', KEYS[1], names[i], n) end
end
local np = tonumber(ARGV[4])
for i = 0, np - 1 do
  redis.call('ZADD', KEYS[2], ARGV[6 + 2 * i], ARGV[5 + 2 * i])
end
for i = 5 + 2 * np, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
return 1
`);

/** KEYS: counters, active. ARGV: nowMs. Drops expired active entries and reads everything. */
export const SNAPSHOT_SCRIPT = new RedisScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
local c = redis.call('HMGET', KEYS[1], 'created', 'destroyed', 'revoked')
return {redis.call('ZCARD', KEYS[2]), c[1] or '0', c[2] or '0', c[3] or '0'}
`);
