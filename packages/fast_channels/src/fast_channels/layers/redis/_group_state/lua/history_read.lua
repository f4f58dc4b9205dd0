-- KEYS: meta, stream. ARGV: after offset (0: everything kept), max age ms (by the
-- server's clock, like the stamps).
-- Returns {epoch or '', last offset, offset1, payload1, offset2, payload2, ...}.
local meta = redis.call('HMGET', KEYS[1], 'e', 'o')
if not meta[1] then return {'', 0} end
local out = {meta[1], tonumber(meta[2])}
local cutoff = server_ms() - tonumber(ARGV[2])
local rows = redis.call('XRANGE', KEYS[2], '0-' .. (tonumber(ARGV[1]) + 1), '+')
for _, row in ipairs(rows) do
  if tonumber(row[2][2]) > cutoff then
    out[#out + 1] = tonumber(string.match(row[1], '-(%d+)$'))
    out[#out + 1] = row[2][4]
  end
end
return out
