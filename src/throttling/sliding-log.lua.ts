// Sliding log with a bounded number of entries. Per key one string:
//   "<blockedUntil>|<total>|<count>|<t>:<amount>,<t>:<amount>,..."  (ms, oldest first)
// (total and count of the entries as written; a value without them, from before, parses too).
// An entry counts while t > now - period, so a check passes when the amounts of the last
// `period` plus its cost fit in `limit`: no interval of length `period` ever holds more than
// `limit`. Admissions within one slice of the window (period / MAX_ENTRIES, on a fixed grid)
// share an entry stamped with the latest of them, which only makes the older amounts count a
// little longer (at most one slice, never shorter): the bound holds and a key holds at most
// MAX_ENTRIES + 1 entries (past that, as a safeguard, the two closest entries merge). A lease refund finds its amount in the first entry at or after its admission time
// (merges only move amounts later). Time is Redis TIME, shared by every instance.
// memory-throttle.store.ts implements the same steps; keep them in step.

/** Entries kept per key (requests, tokens or micro-USD alike). */
export const MAX_ENTRIES = 16;

const PRELUDE = `
local MAX_ENTRIES = ${MAX_ENTRIES}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function parse(raw, period)
  local s = { block = 0, t = {}, a = {}, r = {} }
  if not raw then return s end
  local b, rest = string.match(raw, '^(%d+)|(.*)$')
  if not b then return s end
  s.block = tonumber(b)
  if s.block > 0 and s.block <= now then
    -- A block that ended starts the count afresh (as @nestjs/throttler's storage does).
    s.block = 0
    return s
  end
  local n = 0
  -- r keeps each entry's text, so save() formats only the entries that changed.
  for tok, ti, ai in string.gmatch(rest, '((%d+):(%d+))') do
    local tv = tonumber(ti)
    if tv > now - period then
      n = n + 1
      s.t[n] = tv
      s.a[n] = tonumber(ai)
      s.r[n] = tok
    end
  end
  return s
end

local function load(key, period)
  return parse(redis.call('GET', key), period)
end

-- The common case without parsing the log: no block, the oldest entry still counts (so every
-- entry does, and the header's total is what is used), and the cost fits. Nil otherwise.
local function quick(raw, period, cost, limit)
  if not raw then return nil end
  local b, total, count, first = string.match(raw, '^(%d+)|(%d+)|(%d+)|(%d+):')
  if b ~= '0' then return nil end
  local q = { raw = raw, head = #b + #total + #count + 3, total = tonumber(total),
    count = tonumber(count), first = tonumber(first) }
  if q.first <= now - period or q.total + cost > limit then return nil end
  return q
end

-- Adds an admission to a quick state by rewriting the newest entry (same slice) or appending
-- one; false when the log is full (the caller then merges through the full path).
local function quick_add(key, q, cost, period)
  local body = string.sub(q.raw, q.head + 1)
  -- The newest entry is after the last comma (found from the end: a pattern anchored at the
  -- end would be tried from every position).
  local comma = string.find(string.reverse(body), ',', 1, true)
  local lt, la = string.match(comma and string.sub(body, #body - comma + 2) or body, '^(%d+):(%d+)$')
  if not lt then return false end
  local last = tonumber(lt)
  local count = q.count
  local w = period / MAX_ENTRIES
  if last >= now or math.floor(last / w) == math.floor(now / w) then
    if now > last then last = now end
    body = string.sub(body, 1, #body - #lt - #la - 1) .. string.format('%d:%d', last, tonumber(la) + cost)
  elseif count + 1 <= MAX_ENTRIES + 1 then
    last = now
    body = body .. string.format(',%d:%d', now, cost)
    count = count + 1
  else
    return false
  end
  redis.call('SET', key, string.format('0|%d|%d|', q.total + cost, count) .. body, 'PX', math.ceil(last + period - now))
  return true
end

local function used(s)
  local u = 0
  for i = 1, #s.t do u = u + s.a[i] end
  return u
end

local function add(s, amount, period)
  if amount <= 0 then return end
  local n = #s.t
  local w = period / MAX_ENTRIES
  if n > 0 and (s.t[n] >= now or math.floor(s.t[n] / w) == math.floor(now / w)) then
    s.a[n] = s.a[n] + amount
    if now > s.t[n] then s.t[n] = now end
    s.r[n] = false
    return
  end
  s.t[n + 1] = now
  s.a[n + 1] = amount
  s.r[n + 1] = false
  if n + 1 > MAX_ENTRIES + 1 then
    local best, gap = 1, math.huge
    for i = 1, n do
      if s.t[i + 1] - s.t[i] < gap then best, gap = i, s.t[i + 1] - s.t[i] end
    end
    s.a[best + 1] = s.a[best + 1] + s.a[best]
    s.r[best + 1] = false
    table.remove(s.t, best)
    table.remove(s.a, best)
    table.remove(s.r, best)
  end
end

-- Takes back an amount admitted at time 'at' (a refund or a settlement), if it still counts.
local function refund(s, at, amount, period)
  if at <= now - period then return end
  for i = 1, #s.t do
    if s.t[i] >= at then
      s.a[i] = s.a[i] - amount
      s.r[i] = false
      if s.a[i] <= 0 then
        table.remove(s.t, i)
        table.remove(s.a, i)
        table.remove(s.r, i)
      end
      return
    end
  end
end

local function save(key, s, period)
  local n = #s.t
  local expires = s.block
  if n > 0 and s.t[n] + period > expires then expires = s.t[n] + period end
  if expires <= now then
    redis.call('DEL', key)
    return
  end
  local parts, total = {}, 0
  for i = 1, n do
    parts[i] = s.r[i] or string.format('%d:%d', s.t[i], s.a[i])
    total = total + s.a[i]
  end
  redis.call('SET', key, string.format('%d|%d|%d|', s.block, total, n) .. table.concat(parts, ','), 'PX', math.ceil(expires - now))
end

-- Expired leases give their amount back.
local function sweep(s, leases, period)
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  if #expired == 0 then return false end
  for _, m in ipairs(expired) do
    local amount, at = string.match(m, ':(%d+):(%d+)$')
    if amount then refund(s, tonumber(at), tonumber(amount), period) end
  end
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  return true
end
`;

/**
 * KEYS: per check, its state key and its lease set. ARGV: per check, limit, period (ms),
 * cost, lease id ('' for none), lease ttl (ms), block (ms, 0 for none).
 * Returns [allowed, now (ms, the store's clock), then per check: remaining, resetMs,
 * retryAfterMs (-1: never), passed].
 */
export const CONSUME_LUA = `
${PRELUDE}local n = #KEYS / 2
local states, changed, retries = {}, {}, {}
local allowed = 1
for i = 1, n do
  local a = (i - 1) * 6
  local limit, period, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local raw = redis.call('GET', KEYS[2 * i - 1])
  local q = nil
  if ARGV[a + 4] == '' and cost > 0 then q = quick(raw, period, cost, limit) end
  local s = q or parse(raw, period)
  if ARGV[a + 4] ~= '' then changed[i] = sweep(s, KEYS[2 * i], period) end
  local retry = 0
  if q then
    -- fits: retry stays 0
  elseif s.block > now then
    retry = s.block - now
  elseif cost > limit then
    retry = -1
  elseif used(s) + cost > limit then
    local need, freed = used(s) + cost - limit, 0
    for j = 1, #s.t do
      freed = freed + s.a[j]
      if freed >= need then
        retry = math.ceil(s.t[j] + period - now)
        break
      end
    end
  end
  if retry ~= 0 then allowed = 0 end
  states[i], retries[i] = s, retry
end
local out = { allowed, now }
for i = 1, n do
  local a = (i - 1) * 6
  local limit, period, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local s = states[i]
  local remaining, reset
  if s.raw and allowed == 1 and quick_add(KEYS[2 * i - 1], s, cost, period) then
    remaining, reset = limit - s.total - cost, math.ceil(s.first + period - now)
  else
    if s.raw then s = parse(s.raw, period) end
    if allowed == 1 then
      add(s, cost, period)
      changed[i] = true
      if ARGV[a + 4] ~= '' then
        local ttl = tonumber(ARGV[a + 5])
        redis.call('ZADD', KEYS[2 * i], now + ttl, ARGV[a + 4] .. ':' .. string.format('%d:%d', cost, now))
        redis.call('PEXPIRE', KEYS[2 * i], math.ceil(ttl + period))
      end
    else
      local block = tonumber(ARGV[a + 6])
      if retries[i] ~= 0 and block > 0 and s.block <= now then
        s.block = now + block
        retries[i] = block
        changed[i] = true
      end
    end
    if changed[i] then save(KEYS[2 * i - 1], s, period) end
    remaining = limit - used(s)
    if s.block > now or remaining < 0 then remaining = 0 end
    reset = 0
    if #s.t > 0 then reset = math.ceil(s.t[1] + period - now) end
  end
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retries[i]
  if retries[i] == 0 then out[#out + 1] = 1 else out[#out + 1] = 0 end
end
return out
`;

/**
 * KEYS: per item, its state key and its lease set. ARGV: per item, limit, period (ms),
 * reserved, actual, lease member ('' for none), admission time (ms, 0 unknown). A live lease's amount is replaced by the
 * actual one where it was admitted; a lease that already expired (refunded) is charged the
 * actual amount now; a reservation that aged out of the window is charged only its excess.
 */
export const SETTLE_LUA = `
${PRELUDE}for i = 1, #KEYS / 2 do
  local a = (i - 1) * 6
  local period = tonumber(ARGV[a + 2])
  local reserved, actual = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local member = ARGV[a + 5]
  local s = load(KEYS[2 * i - 1], period)
  if member == '' then
    -- no lease: adjust where it was admitted (or, unknown, in the newest entry)
    local at = tonumber(ARGV[a + 6])
    if at == 0 and #s.t > 0 then at = s.t[#s.t] end
    if actual > reserved then
      add(s, actual - reserved, period)
    else
      refund(s, at, reserved - actual, period)
    end
  else
    local score = redis.call('ZSCORE', KEYS[2 * i], member)
    local at = tonumber(string.match(member, ':(%d+)$'))
    if score and tonumber(score) > now then
      redis.call('ZREM', KEYS[2 * i], member)
      if at > now - period then
        refund(s, at, reserved, period)
        -- the actual amount stays where the reservation was admitted
        local n = #s.t
        local placed = false
        for j = 1, n do
          if s.t[j] >= at then
            s.a[j] = s.a[j] + actual
            s.r[j] = false
            placed = true
            break
          end
        end
        if not placed then add(s, actual, period) end
      elseif actual > reserved then
        add(s, actual - reserved, period)
      end
    else
      sweep(s, KEYS[2 * i], period)
      add(s, actual, period)
    end
  end
  save(KEYS[2 * i - 1], s, period)
end
return 1
`;
