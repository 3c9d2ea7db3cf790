-- steadfast: one shared circuit breaker decision, atomically, on the server.
--
-- KEYS[1]  the breaker's key, a hash (see "State" below).
-- ARGV     op, window_kind, window_size, min_calls, failure_ppm, slow_ppm,
--          consecutive, open_for_us, probes, lease_us, expire_ms, then the
--          op's own arguments:
--            op 1, report:          generation, successes, failures,
--                                   slow_successes, slow_failures,
--                                   failure_run, ended_run (0 or 1)
--            op 2, acquire a probe: none
--            op 3, complete probe:  generation, lease, outcome (0 success,
--                                   1 failure, 2 released)
--          window_kind 0: the last window_size outcomes (a count window);
--          1: ten buckets of window_size µs each (a time window).
--          slow_ppm 0: no slow-call rule. All validated by the client.
-- Returns  {state, generation, open_remaining_us, lease}: state 0 closed,
--          1 open, 2 half-open; open_remaining_us = max(0, open_until - now)
--          when open, else 0; lease > 0 only for a granted probe (op 2).
--
-- State. One hash per breaker:
--   s    state (0 closed, 1 open, 2 half-open)
--   g    generation: one more on every state change
--   u    open_until, µs of the server's clock (0 unless open)
--   hs   successes of the current half-open generation
--   run  failures in a row, in the order reports arrive (capped at 2^32)
--   lc   the last lease id granted in this generation (ids 1, 2, ...)
--   ls   the leases held: "id:expiry_us," repeated ('' for none)
--   w    the window's signature, 'c<n>' or 'd<bucket µs>': a window kept
--        under other settings (a reconfigured breaker) starts afresh
--   l, h, ok, err, sok, serr  count window: outcomes held (<= n), the next
--        position to write (the oldest once full), and the counts of fast
--        successes, fast failures, slow successes and slow failures in it
--   r<i> count window: positions [256 i, 256 i + 256) of the ring, one
--        character per outcome: 'o' success, 'e' failure, 'O' slow success,
--        'E' slow failure. Exactly the positions [0, l) are stored, so a
--        chunk holds min(256, chunk size, l - 256 i) characters.
--   b<j> time window: bucket j (0 to 9) as "index ok err sok serr", index =
--        floor(now / bucket µs); bucket j holds index % 10 == j. A bucket is
--        in the tally while now's index - 10 < its index <= now's index.
-- A key missing reads as a fresh closed breaker of generation 0. A key that
-- holds anything else (another type: WRONGTYPE; a hash without these fields
-- or with malformed ones) is an error, checked before anything is written,
-- so such a key is never overwritten.
--
-- Cost. A report of k outcomes on a count window of n costs O(min(k, n))
-- string work: the last min(k, n) outcomes are built once (string.rep), and
-- only the ring chunks they land on are read and written (plus one chunk at
-- each end). A time window reads ten small fields. Opening or closing
-- deletes the window's fields (n / 256 chunks, or ten buckets): rare.
--
-- Exactness. Lua numbers are doubles: integers are exact below 2^53.
--   * Times are µs: the clock is about 2^50.6 µs since 1970 and below 2^52
--     until the year 2112; open_for, the lease and the window are each at
--     most 2^51 µs (the client refuses more), so now + any of them < 2^53.
--   * Count window: n <= 2^20 (the client refuses more), every count <= n.
--   * Time window: a bucket's counts saturate at 2^46 (a report adds less
--     than 2^32 to one), so the tally of 10 buckets x 4 counts is below
--     2^52. Reaching the cap takes 7 x 10^13 calls in one bucket.
--   * Thresholds: ceil(ppm x calls / 10^6) with ppm <= 10^6 is computed as
--     ppm x q + ceil(ppm x r / 10^6) with calls = 10^6 q + r: ppm x q <=
--     calls < 2^53 and ppm x r + 999999 < 2^40, all exact. floor(x / d) for
--     integers with x + d <= 2^53 is exact in doubles: x / d = q + r/d with
--     r/d <= 1 - 1/d, and 1/d exceeds half an ulp of q + 1 (below 2^53 / d),
--     so the correctly rounded quotient never reaches q + 1.
--   * Generations and lease ids grow by one per state change or grant.
--   * The run is capped at 2^32 (a threshold is below 2^32: the same
--     decisions).
-- Numbers are written back with %d (a 64-bit integer in Redis' Lua 5.1),
-- never the default %.14g, which would drop digits of a µs timestamp.
--
-- Expiry. Every write sets PEXPIRE expire_ms (the client's max(24 h,
-- open_for + lease, window duration) plus a second): the key outlives every
-- open period, lease and window it holds, and an idle breaker's state goes
-- away after a day, to read as a fresh closed breaker. Reads write nothing.

-- Redis 3.2 to 4.x replicate a script that read TIME only as effects, on
-- request; 5.0 and later always do (and keep this as a no-op).
if redis.replicate_commands then
  redis.replicate_commands()
end

local key = KEYS[1]
local function int(i) return tonumber(ARGV[i]) end
local op = int(1)
local window_kind, window_size = int(2), int(3)
local min_calls, failure_ppm, slow_ppm = int(4), int(5), int(6)
local consecutive, open_for, probes = int(7), int(8), int(9)
local lease_for, expire_ms = int(10), int(11)

local CHUNK = 256
local BUCKETS = 10
local BUCKET_CAP = 2 ^ 46
local RUN_CAP = 2 ^ 32
local SIGNATURE = (window_kind == 0 and 'c' or 'd') .. string.format('%d', window_size)

-- The server's clock, never a client's: replicas' clocks disagree.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

-- A key that is not a breaker's state: raised as this table, answered as an
-- error reply before anything is written.
local function bad(what)
  error({ steadfast = 'STEADFAST ' .. key .. ' does not hold a circuit breaker state (' .. what .. ')' })
end

-- A stored whole number in [0, limit].
local function whole(value, name, limit)
  local x = tonumber(value)
  if not x or x ~= math.floor(x) or x < 0 or x > limit then
    bad(name .. ' = ' .. tostring(value))
  end
  return x
end

local function fmt(x) return string.format('%d', x) end

-- ceil(ppm x calls / 10^6), exactly (see "Exactness").
local function threshold(ppm, calls)
  local q = math.floor(calls / 1000000)
  local r = calls - q * 1000000
  return ppm * q + math.floor((ppm * r + 999999) / 1000000)
end

local function main()
  local FIELDS = { 's', 'g', 'u', 'hs', 'run', 'lc', 'ls', 'w', 'l', 'h', 'ok', 'err', 'sok', 'serr' }
  local raw = redis.call('HMGET', key, unpack(FIELDS))
  local st = {}
  local present = 0
  for i = 1, #FIELDS do
    if raw[i] then present = present + 1 end
  end
  if present == 0 then
    if redis.call('EXISTS', key) == 1 then bad('none of its fields') end
    st = { s = 0, g = 0, u = 0, hs = 0, run = 0, lc = 0, ls = '', w = SIGNATURE,
           l = 0, h = 0, ok = 0, err = 0, sok = 0, serr = 0 }
  elseif present < #FIELDS then
    bad('missing fields')
  else
    local big = 2 ^ 53
    st.s = whole(raw[1], 's', 2)
    st.g = whole(raw[2], 'g', big)
    st.u = whole(raw[3], 'u', big)
    st.hs = whole(raw[4], 'hs', big)
    st.run = whole(raw[5], 'run', RUN_CAP)
    st.lc = whole(raw[6], 'lc', big)
    st.ls = raw[7]
    st.w = raw[8]
    st.l = whole(raw[9], 'l', 2 ^ 20)
    st.h = whole(raw[10], 'h', 2 ^ 20)
    st.ok = whole(raw[11], 'ok', 2 ^ 20)
    st.err = whole(raw[12], 'err', 2 ^ 20)
    st.sok = whole(raw[13], 'sok', 2 ^ 20)
    st.serr = whole(raw[14], 'serr', 2 ^ 20)
    if not string.find(st.w, '^[cd]%d+$') then bad('w = ' .. st.w) end
    if st.ok + st.err + st.sok + st.serr ~= st.l then bad('counts') end
    if st.w:sub(1, 1) == 'c' then
      local n = tonumber(st.w:sub(2))
      if n < 1 or st.l > n or st.h >= n or (st.l < n and st.h ~= st.l) then bad('ring position') end
    elseif st.l ~= 0 then
      bad('ring in a time window')
    end
  end

  -- The leases held: {id = expiry}, checked.
  local leases, seen = {}, 0
  for entry, id, expiry in string.gmatch(st.ls, '((%d+):(%d+),)') do
    seen = seen + #entry
    leases[whole(id, 'lease id', st.lc)] = whole(expiry, 'lease expiry', 2 ^ 53)
  end
  if seen ~= #st.ls then bad('ls = ' .. st.ls) end

  local deletions = {}   -- fields to delete, before any write
  local writes = {}      -- field -> value, after the deletions
  local dirty = false    -- whether the header is written back

  -- The fields the stored window occupies, for deletion (by its own
  -- signature and fill, which may not be this call's).
  local function drop_window()
    if st.w:sub(1, 1) == 'c' then
      for i = 0, math.ceil(st.l / CHUNK) - 1 do
        deletions[#deletions + 1] = 'r' .. i
      end
    else
      for j = 0, BUCKETS - 1 do
        deletions[#deletions + 1] = 'b' .. j
      end
    end
    st.w, st.l, st.h, st.ok, st.err, st.sok, st.serr = SIGNATURE, 0, 0, 0, 0, 0, 0
    dirty = true
  end

  local function view(lease)
    local remaining = 0
    if st.s == 1 and st.u > now then remaining = st.u - now end
    return { st.s, st.g, remaining, lease or 0 }
  end

  -- State changes: each one generation on, leases and run cleared.
  local function move(state)
    st.s, st.g, st.hs, st.run, st.lc, st.ls = state, st.g + 1, 0, 0, 0, ''
    st.u = 0
    if state == 1 then st.u = now + open_for end
    leases = {}
    dirty = true
  end

  local function leases_string()
    local ids = {}
    for id in pairs(leases) do ids[#ids + 1] = id end
    table.sort(ids)
    local parts = {}
    for _, id in ipairs(ids) do parts[#parts + 1] = fmt(id) .. ':' .. fmt(leases[id]) .. ',' end
    return table.concat(parts)
  end

  local function save()
    local i = 1
    while i <= #deletions do
      redis.call('HDEL', key, unpack(deletions, i, math.min(#deletions, i + 999)))
      i = i + 1000
    end
    for field, value in pairs(writes) do
      redis.call('HSET', key, field, value)
    end
    redis.call('HSET', key,
      's', fmt(st.s), 'g', fmt(st.g), 'u', fmt(st.u), 'hs', fmt(st.hs),
      'run', fmt(st.run), 'lc', fmt(st.lc), 'ls', st.ls, 'w', st.w,
      'l', fmt(st.l), 'h', fmt(st.h), 'ok', fmt(st.ok), 'err', fmt(st.err),
      'sok', fmt(st.sok), 'serr', fmt(st.serr))
    redis.call('PEXPIRE', key, fmt(expire_ms))
  end

  if op == 1 then
    local gen = int(12)
    local add = { int(13), int(15), int(14), int(16) } -- ok, sok, err, serr
    local failure_run, ended_run = int(17), int(18)
    local k = add[1] + add[2] + add[3] + add[4]
    -- Dropped: not closed, another generation, or nothing to record.
    if st.s ~= 0 or gen ~= st.g or k == 0 then return view() end
    -- A window kept under other settings starts afresh.
    local reset = st.w ~= SIGNATURE
    if reset then drop_window() end

    local calls, failures, slow
    if window_kind == 0 then
      local n = window_size
      -- A report does not say in which order its outcomes came, so the
      -- store spreads each kind evenly through the batch: its last
      -- m = min(k, n) outcomes hold each kind in the batch's proportion
      -- (floor(add * m / k), the m - sum left over going to the largest
      -- remainders, failures first on ties), interleaved so that any stretch
      -- of them does too. (Appending all successes and then all failures
      -- would let a window smaller than a batch see only the failures:
      -- 10 % failing calls would open a breaker with a window of 10.)
      -- add[c] * m < 2^32 * 2^21 and every product below is under 2^53:
      -- exact.
      local CHARS = { 'o', 'O', 'e', 'E' }
      local m = math.min(k, n)
      local added, rest, given = {}, {}, 0
      for c = 1, 4 do
        added[c] = math.floor(add[c] * m / k)
        rest[c] = add[c] * m - added[c] * k
        given = given + added[c]
      end
      while given < m do
        local best = nil
        for _, c in ipairs({ 3, 4, 1, 2 }) do
          if rest[c] > 0 and (best == nil or rest[c] > rest[best]) then best = c end
        end
        added[best] = added[best] + 1
        rest[best] = 0
        given = given + 1
      end
      -- Position p (1 to m) takes the kind furthest behind its share:
      -- the largest p * added[c] - emitted[c] * m.
      local parts, emitted = {}, { 0, 0, 0, 0 }
      for p = 1, m do
        local best, lead = nil, nil
        for _, c in ipairs({ 3, 4, 1, 2 }) do
          if emitted[c] < added[c] then
            local behind = p * added[c] - emitted[c] * m
            if lead == nil or behind > lead then best, lead = c, behind end
          end
        end
        emitted[best] = emitted[best] + 1
        parts[p] = CHARS[best]
      end
      local segment = table.concat(parts)
      -- Read and check the chunks it lands on (once each), then splice.
      local chunks = {}
      local function chunk(i)
        if chunks[i] == nil then
          local text = ''
          if st.l > i * CHUNK then
            text = redis.call('HGET', key, 'r' .. i) or ''
            local expected = math.min(CHUNK, st.l - i * CHUNK)
            if #text ~= expected or string.find(text, '[^oOeE]') then bad('ring chunk r' .. i) end
          end
          chunks[i] = text
        end
        return chunks[i]
      end
      local left = { 0, 0, 0, 0 }
      local pos, done = st.h, 0
      while done < m do
        local i = math.floor(pos / CHUNK)
        local o = pos - i * CHUNK
        local r = math.min(m - done, CHUNK - o, n - pos)
        local text = chunk(i)
        local gone = text:sub(o + 1, o + r)
        for c = 1, 4 do
          local _, count = string.gsub(gone, CHARS[c], '')
          left[c] = left[c] + count
        end
        chunks[i] = text:sub(1, o) .. segment:sub(done + 1, done + r) .. text:sub(o + r + 1)
        done = done + r
        pos = (pos + r) % n
      end
      st.ok = st.ok - left[1] + added[1]
      st.sok = st.sok - left[2] + added[2]
      st.err = st.err - left[3] + added[3]
      st.serr = st.serr - left[4] + added[4]
      st.l = math.min(n, st.l + m)
      st.h = (st.h + m) % n
      for i, text in pairs(chunks) do writes['r' .. i] = text end
      calls = st.l
      failures = st.err + st.serr
      slow = st.sok + st.serr
    else
      local width = window_size
      local current = math.floor(now / width)
      local names = {}
      for j = 0, BUCKETS - 1 do names[j + 1] = 'b' .. j end
      local stored = redis.call('HMGET', key, unpack(names))
      local buckets = {}
      for j = 0, BUCKETS - 1 do
        local text = stored[j + 1]
        if text and not reset then
          local index, a, b, c, d = string.match(text, '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
          if not index then bad('bucket b' .. j) end
          index = whole(index, 'bucket index', 2 ^ 53)
          if index % BUCKETS ~= j then bad('bucket b' .. j) end
          buckets[j] = { index, whole(a, 'bucket count', BUCKET_CAP), whole(b, 'bucket count', BUCKET_CAP),
                         whole(c, 'bucket count', BUCKET_CAP), whole(d, 'bucket count', BUCKET_CAP) }
        end
      end
      local j = current % BUCKETS
      if not buckets[j] or buckets[j][1] ~= current then buckets[j] = { current, 0, 0, 0, 0 } end
      local bucket = buckets[j]
      for c = 1, 4 do bucket[c + 1] = math.min(BUCKET_CAP, bucket[c + 1] + add[c]) end
      writes['b' .. j] = fmt(bucket[1]) .. ' ' .. fmt(bucket[2]) .. ' ' .. fmt(bucket[3])
        .. ' ' .. fmt(bucket[4]) .. ' ' .. fmt(bucket[5])
      calls, failures, slow = 0, 0, 0
      for _, t in pairs(buckets) do
        if t[1] > current - BUCKETS and t[1] <= current then
          calls = calls + t[2] + t[3] + t[4] + t[5]
          failures = failures + t[4] + t[5]
          slow = slow + t[3] + t[5]
        end
      end
    end

    if ended_run == 1 then
      st.run = math.min(RUN_CAP, failure_run)
    else
      st.run = math.min(RUN_CAP, st.run + failure_run)
    end
    dirty = true

    local trips = (calls >= min_calls and calls > 0
        and (failures >= threshold(failure_ppm, calls)
          or (slow_ppm > 0 and slow >= threshold(slow_ppm, calls))))
      or (consecutive > 0 and st.run >= consecutive)
    if trips then
      -- Nothing recorded survives: the window is dropped as it was stored.
      writes = {}
      drop_window()
      move(1)
    end
    save()
    return view()
  end

  -- Leases still valid; whether any expired one was dropped.
  local function live()
    local dropped = false
    for id, expiry in pairs(leases) do
      if expiry <= now then
        leases[id] = nil
        dropped = true
      end
    end
    return dropped
  end

  if op == 2 then
    if st.s == 1 and now >= st.u then move(2) end
    if st.s ~= 2 then return view() end
    if live() then dirty = true end
    local held = 0
    for _ in pairs(leases) do held = held + 1 end
    local lease = 0
    if held + st.hs < probes then
      st.lc = st.lc + 1
      lease = st.lc
      leases[lease] = now + lease_for
      dirty = true
    end
    if dirty then
      st.ls = leases_string()
      save()
    end
    return view(lease)
  end

  if op == 3 then
    local gen, lease, outcome = int(12), int(13), int(14)
    local expiry = leases[lease]
    if st.s ~= 2 or gen ~= st.g or not expiry or expiry <= now then return view() end
    leases[lease] = nil
    st.ls = leases_string()
    dirty = true
    if outcome == 0 then
      st.hs = st.hs + 1
      if st.hs >= probes then
        drop_window()
        move(0)
      end
    elseif outcome == 1 then
      drop_window()
      move(1)
    end
    save()
    return view()
  end

  error('STEADFAST unknown breaker op ' .. tostring(op))
end

local ok, result = pcall(main)
if ok then return result end
if type(result) == 'table' and result.steadfast then
  return redis.error_reply(result.steadfast)
end
error(result)
