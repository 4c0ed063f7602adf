-- spent: ARGV = mode ('f'|'r'), hours. Returns {spent, reserved}.
local now = now_ms()
purge(now)
local s = spent(ARGV[1], now, tonumber(ARGV[2]))
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
return {s, r}
