-- seed: ARGV = micros, fixed_expires_at_ms, mode ('f'|'r'), hours.
-- Writes the spend only when the window has none yet. Returns 1 if written.
local now = now_ms()
local mode = ARGV[3]
local hours = tonumber(ARGV[4])
if mode == 'f' then
  if redis.call('HSETNX', KEYS[1], 's', ARGV[1]) == 0 then
    return 0
  end
else
  spent(mode, now, hours) -- drops buckets that left the window
  if redis.call('HEXISTS', KEYS[1], 'seeded') == 1 then
    return 0
  end
  local fields = redis.call('HKEYS', KEYS[1])
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 1) == 'h' then
      return 0
    end
  end
  redis.call('HSET', KEYS[1], 'seeded', 1, bucket_field(mode, now), ARGV[1])
end
touch_all(expiry(mode, now, tonumber(ARGV[2]), hours, 0), now)
return 1
