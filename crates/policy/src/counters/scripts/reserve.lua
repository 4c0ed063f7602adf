-- reserve: ARGV = amount, limit, id, hold_ms, fixed_expires_at_ms, mode ('f'|'r'), hours
-- Returns {1, spent, committed} when reserved, {0, spent, reserved} when it would exceed.
local now = now_ms()
purge(now)
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local hold = tonumber(ARGV[4])
local mode = ARGV[6]
local hours = tonumber(ARGV[7])
local s = spent(mode, now, hours)
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
if s + r + amount > limit then
  return {0, s, r}
end
redis.call('HINCRBY', KEYS[1], 'r', amount)
redis.call('HSET', KEYS[2], ARGV[3], amount)
redis.call('ZADD', KEYS[3], string.format('%d', now + hold), ARGV[3])
touch_all(expiry(mode, now, tonumber(ARGV[5]), hours, hold), now)
return {1, s, s + r + amount}
