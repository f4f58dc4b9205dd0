-- The server's clock in ms: every process compares against the same clock, so
-- skew between application hosts cannot expire live members or full channels.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
