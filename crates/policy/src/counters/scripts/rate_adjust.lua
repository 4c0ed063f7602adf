-- rate_adjust: KEYS[1] = the rate hash; ARGV = delta (may be negative), window_ms.
-- Adds delta to the current window's count, flooring at zero.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delta = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local idx = math.floor(now / w)
local st = redis.call('HMGET', KEYS[1], 'i', 'p', 'c')
local si = tonumber(st[1])
local p, c = 0, 0
if si == idx then
  p = tonumber(st[2]) or 0
  c = tonumber(st[3]) or 0
elseif si == idx - 1 then
  p = tonumber(st[3]) or 0
end
c = c + delta
if c < 0 then
  c = 0
end
redis.call('HSET', KEYS[1], 'i', string.format('%d', idx), 'p', string.format('%d', p),
  'c', string.format('%d', c))
redis.call('PEXPIRE', KEYS[1], string.format('%d', 2 * w))
return 1
