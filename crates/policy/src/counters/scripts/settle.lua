-- settle: ARGV = id, actual, fixed_expires_at_ms, mode ('f'|'r'), hours
-- Removes the reservation (if still held) and adds the actual cost. Returns {before, after}.
local now = now_ms()
purge(now)
local amt = redis.call('HGET', KEYS[2], ARGV[1])
if amt then
  redis.call('HINCRBY', KEYS[1], 'r', -tonumber(amt))
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
local mode = ARGV[4]
local hours = tonumber(ARGV[5])
local actual = tonumber(ARGV[2])
local before = spent(mode, now, hours)
redis.call('HINCRBY', KEYS[1], bucket_field(mode, now), actual)
touch_all(expiry(mode, now, tonumber(ARGV[3]), hours, 0), now)
return {before, before + actual}
