-- rate_check: KEYS[1] = hash {i: window index, p: previous count, c: current count}
-- ARGV = cost, limit, window_ms. Returns {allowed, remaining, reset_after_ms}.
-- The same sliding-window formula as counters/sliding.rs; see there.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local w = tonumber(ARGV[3])
local idx = math.floor(now / w)
local e = now - idx * w
local st = redis.call('HMGET', KEYS[1], 'i', 'p', 'c')
local si = tonumber(st[1])
local p, c = 0, 0
if si == idx then
  p = tonumber(st[2]) or 0
  c = tonumber(st[3]) or 0
elseif si == idx - 1 then
  p = tonumber(st[3]) or 0
end
local used = math.floor((p * (w - e) + w - 1) / w) + c
if used + cost <= limit then
  redis.call('HSET', KEYS[1], 'i', string.format('%d', idx), 'p', string.format('%d', p),
    'c', string.format('%d', c + cost))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', 2 * w))
  return {1, limit - used - cost, w - e}
end
local remaining = 0
if limit > used then
  remaining = limit - used
end
local wait
if cost > limit then
  wait = 2 * w - e
else
  wait = -1
  if c + cost <= limit and p > 0 then
    local keep = math.floor((limit - c - cost) * w / p)
    local t1 = (w - e) - keep
    if t1 < 0 then
      t1 = 0
    end
    if t1 < w - e then
      wait = t1
    end
  end
  if wait < 0 then
    local e2 = 0
    if c > 0 then
      e2 = w - math.floor((limit - cost) * w / c)
      if e2 < 0 then
        e2 = 0
      end
    end
    wait = (w - e) + e2
  end
end
return {0, remaining, wait}
