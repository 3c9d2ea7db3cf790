-- steadfast: one rate limiter decision (GCRA), atomically, on the server.
--
-- KEYS[1]  the limiter's key, a hash: t = the theoretical arrival time (TAT,
--          the moment the bucket is full again) in whole microseconds of the
--          server's clock, f = its fraction in units of 1/r µs (0 <= f < r),
--          r = the rate those units were counted in.
-- ARGV     rate, step_us, step_f, cap_us, cap_f, max_wait_us[, n]: the rate
--          (the fraction's denominator), one turn (per / rate) and the
--          capacity (burst × per / rate) as whole µs plus a fraction in 1/rate
--          µs, computed exactly by the client, the longest wait in whole µs,
--          and (batched mode) how many turns to take at once.
-- Returns  {0, 0, 0} admitted now; {1, us, f} a turn reserved us + f/rate µs
--          from now; {2, us, f} rejected, the next free turn that far away.
--          With n: {3, k, 0} k (1 to n) turns taken now, or {2, us, f} none
--          free, the next one that far away (max_wait is not used).
--
-- Exactness. Lua numbers are doubles: integers are exact below 2^53. Every
-- quantity here is a pair (whole µs, fraction in 1/rate µs) and the script
-- only adds, subtracts and compares pairs, carrying between the parts:
--   * whole µs: the clock is about 2^50.6 µs since 1970 (2^53 µs is the year
--     2255); the client refuses settings whose horizon (cap + step +
--     max_wait) exceeds 2^51 µs (71 years), and a stored TAT is never more
--     than the horizon ahead of the clock, so every sum stays below 2^53;
--   * fractions: each is in [0, rate) with rate < 2^32, so a sum is below
--     2^33 and a difference above -2^32, all exact; one carry or borrow
--     brings it back into [0, rate).
-- The only products are seconds × 10^6 (< 2^53) and the expiry's division by
-- 1000, whose rounding can only lengthen the expiry (see below). Numbers sent
-- back to Redis are formatted with %d (a 64-bit integer in Redis' Lua 5.1),
-- never with the default %.14g, which would drop digits of a µs timestamp.

-- Redis 3.2 to 4.x replicate a script that read TIME only as effects, on
-- request; 5.0 and later always do (and keep this as a no-op).
if redis.replicate_commands then
  redis.replicate_commands()
end

local key = KEYS[1]
local rate = tonumber(ARGV[1])
local step_us, step_f = tonumber(ARGV[2]), tonumber(ARGV[3])
local cap_us, cap_f = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_wait_us = tonumber(ARGV[6])

-- The server's clock, never a client's: replicas' clocks disagree.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

-- A missing key is a full bucket: a new limiter starts with its burst, and an
-- idle one's key expired when its bucket was full again.
local tat, tat_f = now, 0
local state = redis.call('HMGET', key, 't', 'f', 'r')
if state[1] or state[2] or state[3] then
  local t, f, r = tonumber(state[1]), tonumber(state[2]), tonumber(state[3])
  if not (t and f and r) or t ~= math.floor(t) or f ~= math.floor(f)
      or f < 0 or r < 1 or f >= r or t < 0 or t > now + 2 ^ 51 then
    return redis.error_reply('STEADFAST ' .. key .. ' does not hold a rate limiter state')
  end
  if r ~= rate then
    -- Counted in another rate's units (the limiter was reconfigured): round
    -- the TAT up to the next whole µs (stricter by less than 1 µs, once).
    if f > 0 then t = t + 1 end
    f = 0
  end
  if t > now or (t == now and f > 0) then
    tat, tat_f = t, f
  end
end

-- Batched mode: the most turns k <= n such that ahead + k turns is within
-- the capacity (all free now), found by bisection (k × step is a pair too:
-- k <= 1024 and a fraction below 2^32 keep k × step_f below 2^42, and the
-- client keeps n × step_us within the horizon).
local n = tonumber(ARGV[7] or '1')
if n > 1 then
  local function within(k)
    local f = k * step_f
    local carry = math.floor(f / rate)
    local us, frac = tat - now + k * step_us + carry, tat_f + f - carry * rate
    if frac >= rate then
      us, frac = us + 1, frac - rate
    end
    return us < cap_us or (us == cap_us and frac <= cap_f), us, frac
  end
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if within(mid) then lo = mid else hi = mid - 1 end
  end
  if lo > 0 then
    local _, us, frac = within(lo)
    redis.call('HSET', key,
      't', string.format('%d', now + us),
      'f', string.format('%d', frac),
      'r', string.format('%d', rate))
    redis.call('PEXPIRE', key, string.format('%d', math.floor(us / 1000) + 1))
    return {3, lo, 0}
  end
  -- None free: fall through to the one-turn computation with no wait
  -- allowed, which refuses with the time to the next free turn.
  max_wait_us = -1
end

-- ahead = TAT - now (>= 0); reserved = ahead + one turn.
local res_us, res_f = tat - now + step_us, tat_f + step_f
if res_f >= rate then
  res_us, res_f = res_us + 1, res_f - rate
end

-- The turn comes when the TAT is at most the capacity ahead of it:
-- wait = reserved - capacity, or 0.
local wait_us, wait_f = res_us - cap_us, res_f - cap_f
if wait_f < 0 then
  wait_us, wait_f = wait_us - 1, wait_f + rate
end
if wait_us < 0 then
  wait_us, wait_f = 0, 0
end

if wait_us > max_wait_us or (wait_us == max_wait_us and wait_f > 0) then
  -- Changes nothing; the next free turn (waiters' turns included) is `wait`
  -- away.
  return {2, wait_us, wait_f}
end

redis.call('HSET', key,
  't', string.format('%d', now + res_us),
  'f', string.format('%d', res_f),
  'r', string.format('%d', rate))
-- Gone when the bucket is full again (at the TAT, res µs from now): a later
-- call then finds no key, which reads as that same full bucket. floor(x /
-- 1000) + 1 is above res / 1000 ms; the division's rounding can only move
-- the quotient up to an exact integer, never below one, so the key never
-- expires before the TAT (it may outlive it by up to 1 ms, harmlessly).
redis.call('PEXPIRE', key, string.format('%d', math.floor(res_us / 1000) + 1))

if wait_us == 0 and wait_f == 0 then
  return {0, 0, 0}
end
return {1, wait_us, wait_f}
