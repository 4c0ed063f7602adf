-- release: ARGV = id. Drops the reservation without spending.
local amt = redis.call('HGET', KEYS[2], ARGV[1])
if amt then
  redis.call('HINCRBY', KEYS[1], 'r', -tonumber(amt))
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
