-- A group's history: hash KEYS meta {e = epoch, o = last offset} and a stream whose
-- entry ids are 0-<offset> (so "after offset N" is an id range) with fields
-- t (sent at, ms) and m (the serialized message).

-- Drop entries sent at or before cutoff (ms). Entries are in send order, so it
-- stops at the first young one: the work is what expired, plus one batch.
local function trim_age(skey, cutoff)
  while true do
    local rows = redis.call('XRANGE', skey, '-', '+', 'COUNT', 16)
    for _, row in ipairs(rows) do
      if tonumber(row[2][2]) > cutoff then
        redis.call('XTRIM', skey, 'MINID', row[1])
        return
      end
    end
    if #rows == 0 then return end
    local last = tonumber(string.match(rows[#rows][1], '-(%d+)$'))
    redis.call('XTRIM', skey, 'MINID', '0-' .. (last + 1))
  end
end

-- Store payload as the next message of the group; return what members get: the
-- position stamp "\193pos:<epoch>:<offset>:<group>:" then the payload.
-- candidate is "<new epoch>", or "<new epoch>:<epoch>:<offset>" with the newest
-- position the sending process has seen in this group.
local function history_append(mkey, skey, group, candidate, now, size, age_ms, payload)
  local fresh, seen_epoch, seen_offset = string.match(candidate, '^(%x+):(%x+):(%d+)$')
  fresh = fresh or candidate
  local meta = redis.call('HMGET', mkey, 'e', 'o')
  local epoch = meta[1]
  if epoch and epoch == seen_epoch and tonumber(meta[2]) < tonumber(seen_offset) then
    -- Behind a position already issued in this epoch: a failover to a replica that
    -- missed the newest writes. Reusing those offsets would give one position to
    -- two messages, so this is a lost history too.
    epoch = false
  end
  if not epoch then
    -- New, or lost (Redis wiped, a failover that missed writes): a new epoch. A
    -- stream left without its meta belongs to the lost epoch and goes too.
    epoch = fresh
    redis.call('DEL', skey)
    redis.call('HSET', mkey, 'e', epoch, 'o', 0)
  end
  local offset = redis.call('HINCRBY', mkey, 'o', 1)
  redis.call('XADD', skey, 'MAXLEN', size, '0-' .. offset, 't', now, 'm', payload)
  trim_age(skey, now - age_ms)
  redis.call('PEXPIRE', skey, age_ms)
  -- The epoch outlives the stream (at least a day) so an idle group's clients
  -- learn "nothing missed" rather than "history lost".
  redis.call('PEXPIRE', mkey, math.max(age_ms, 86400000))
  return '\193pos:' .. epoch .. ':' .. offset .. ':' .. group .. ':' .. payload
end
