-- Live members of a group: drop expired named members and local members whose
-- process stopped its heartbeat. Cutoffs are server time minus the two ttls.
local function live_members(gkey, now, named_ttl, local_timeout)
  redis.call('ZREMRANGEBYSCORE', gkey, '-inf', '(' .. (now - named_ttl))
  local local_cutoff = now - local_timeout
  local rows = redis.call('ZRANGE', gkey, 0, -1, 'WITHSCORES')
  local alive = {}
  for i = 1, #rows, 2 do
    local channel = rows[i]
    if string.find(channel, '!', 1, true) and tonumber(rows[i + 1]) < local_cutoff then
      redis.call('ZREM', gkey, channel)
    else
      alive[#alive + 1] = channel
    end
  end
  return alive
end
