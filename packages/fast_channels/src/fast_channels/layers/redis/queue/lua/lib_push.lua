-- Shared by the scripts that push: capacity check (skipping expired heads) and push.
-- A process-local channel's count lives in its inbox's count hash, beside
-- '#<channel>': the time its newest counted message expires.
local function is_full(qkey, hkey, channel, cap, now)
  if hkey ~= '' then
    if tonumber(redis.call('HGET', hkey, channel) or '0') < cap then return false end
    -- Counts come down only when a receiver reports; a lost report must not
    -- leave the channel full for good. Once the newest counted message has
    -- expired none of them can still be waiting, so the count is stale.
    if tonumber(redis.call('HGET', hkey, '#' .. channel) or '0') >= now then return true end
    redis.call('HDEL', hkey, channel, '#' .. channel)
    return false
  end
  local n = redis.call('LLEN', qkey)
  while n >= cap do
    local oldest = redis.call('LINDEX', qkey, -1)
    local deadline = tonumber(string.match(oldest or '', '^(%d+):'))
    if deadline == nil or deadline >= now then return true end
    redis.call('RPOP', qkey)
    n = n - 1
  end
  return false
end

local function push(qkey, hkey, channel, cap, entry, ttl, now)
  if is_full(qkey, hkey, channel, cap, now) then return 0 end
  if hkey ~= '' then
    redis.call('HINCRBY', hkey, channel, 1)
    redis.call('HSET', hkey, '#' .. channel, now + tonumber(ttl))
    redis.call('PEXPIRE', hkey, ttl)
  end
  redis.call('LPUSH', qkey, entry)
  redis.call('PEXPIRE', qkey, ttl)
  return 1
end

local function keys_for(prefix, channel)
  local inbox = string.match(channel, '^[^!]*!')
  if inbox then return prefix .. ':i:' .. inbox, prefix .. ':n:' .. inbox end
  return prefix .. ':c:' .. channel, ''
end
