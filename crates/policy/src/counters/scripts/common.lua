-- Shared helpers for the budget scripts (prepended to each one).
-- KEYS[1] = state hash: 's' (fixed-window spend) or 'h<hour>' (rolling buckets), 'r' (reserved)
-- KEYS[2] = reservation amounts (hash id -> micros)
-- KEYS[3] = reservation expiries (zset id -> unix ms)
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local HOUR = 3600000

local function purge(now)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, id in ipairs(ids) do
    local amt = redis.call('HGET', KEYS[2], id)
    if amt then
      redis.call('HINCRBY', KEYS[1], 'r', -tonumber(amt))
      redis.call('HDEL', KEYS[2], id)
    end
    redis.call('ZREM', KEYS[3], id)
  end
end

local function spent(mode, now, hours)
  if mode == 'f' then
    return tonumber(redis.call('HGET', KEYS[1], 's') or '0')
  end
  local oldest = math.floor(now / HOUR) - hours + 1
  local total = 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local f = all[i]
    if string.sub(f, 1, 1) == 'h' then
      local b = tonumber(string.sub(f, 2))
      if b and b >= oldest then
        total = total + tonumber(all[i + 1])
      else
        redis.call('HDEL', KEYS[1], f)
      end
    end
  end
  return total
end

local function bucket_field(mode, now)
  if mode == 'f' then
    return 's'
  end
  return 'h' .. string.format('%d', math.floor(now / HOUR))
end

-- Never shortens an existing expiry.
local function extend(key, at, now)
  local ttl = redis.call('PTTL', key)
  if ttl == -2 then
    return
  end
  if ttl == -1 or now + ttl < at then
    redis.call('PEXPIREAT', key, string.format('%d', at))
  end
end

local function expiry(mode, now, fixed_at, hours, hold)
  local at
  if mode == 'f' then
    at = fixed_at
  else
    at = now + (hours + 1) * HOUR
  end
  if now + hold > at then
    at = now + hold
  end
  return at
end

local function touch_all(at, now)
  extend(KEYS[1], at, now)
  extend(KEYS[2], at, now)
  extend(KEYS[3], at, now)
end
