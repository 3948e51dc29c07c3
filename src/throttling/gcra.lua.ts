// GCRA (generic cell rate algorithm): per key one number, the theoretical arrival time
// (TAT, ms). Spending `cost` units moves it by cost * period / limit; a request passes if the
// new TAT is at most `period` ahead of now, so a fresh tracker may burst the whole limit and
// then gets one unit back every period / limit. Time is Redis TIME, shared by every instance.

// Shared by both scripts: Redis time in ms, and storing a TAT that expires when it is reached
// (a TAT in the past equals no entry).
const PRELUDE = `
-- EPS absorbs float error (TATs are stored with 3 decimals): 7 x (3600000 / 7) is not over 3600000.
local EPS = 0.001
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function write_tat(key, tat)
  if tat > now then
    redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now))
  else
    redis.call('DEL', key)
  end
end
`;

/**
 * KEYS: per check, its state key and its lease set. ARGV: per check, limit, period (ms),
 * cost, lease id ('' for none), lease ttl (ms).
 * Returns [allowed, then per check: remaining, resetMs, retryAfterMs, passed].
 */
export const CONSUME_LUA = `
${PRELUDE}local n = #KEYS / 2
local tats, news, swept = {}, {}, {}
local allowed = 1
for i = 1, n do
  local a = (i - 1) * 5
  local limit, period, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  if ARGV[a + 4] ~= '' then
    local expired = redis.call('ZRANGEBYSCORE', KEYS[2 * i], '-inf', now)
    if #expired > 0 then
      for _, m in ipairs(expired) do
        tat = tat - tonumber(string.match(m, ':(%d+)$')) * interval
      end
      redis.call('ZREMRANGEBYSCORE', KEYS[2 * i], '-inf', now)
      swept[i] = true
    end
  end
  if tat < now then tat = now end
  tats[i] = tat
  news[i] = tat + cost * interval
  if news[i] - now > period + EPS then allowed = 0 end
end
local out = { allowed }
for i = 1, n do
  local a = (i - 1) * 5
  local limit, period, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local interval = period / limit
  local tat = tats[i]
  if allowed == 1 then tat = news[i] end
  if allowed == 1 or swept[i] then
    write_tat(KEYS[2 * i - 1], tat)
  end
  if allowed == 1 and ARGV[a + 4] ~= '' then
    local ttl = tonumber(ARGV[a + 5])
    redis.call('ZADD', KEYS[2 * i], now + ttl, ARGV[a + 4] .. ':' .. cost)
    redis.call('PEXPIRE', KEYS[2 * i], math.ceil(ttl + period))
  end
  local remaining = math.floor((period + EPS - (tat - now)) / interval)
  if remaining < 0 then remaining = 0 end
  local retry = 0
  if news[i] - now > period + EPS then retry = math.ceil(news[i] - now - period) end
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(tat - now)
  out[#out + 1] = retry
  if news[i] - now > period + EPS then out[#out + 1] = 0 else out[#out + 1] = 1 end
end
return out
`;

/**
 * KEYS: per item, its state key and its lease set. ARGV: per item, limit, period (ms),
 * reserved, actual, lease member ('' for none). A lease that already expired was refunded by
 * a consume, so its settlement charges the actual amount in full.
 */
export const SETTLE_LUA = `
${PRELUDE}for i = 1, #KEYS / 2 do
  local a = (i - 1) * 5
  local limit, period = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local reserved, actual = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local delta = actual - reserved
  if ARGV[a + 5] ~= '' and redis.call('ZREM', KEYS[2 * i], ARGV[a + 5]) == 0 then delta = actual end
  local tat = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  if tat < now then tat = now end
  tat = tat + delta * period / limit
  write_tat(KEYS[2 * i - 1], tat)
end
return 1
`;
