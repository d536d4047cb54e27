-- Compare-and-swap of one session record, atomic on the Redis server, with
-- what else the hop remembers, in the same step and round trip.
-- KEYS[1] record key (a string "<version>:<data>": one small string costs
-- less memory than a hash whose data field is too long for a listpack),
-- KEYS[2] active index (sorted set of record keys scored by expiry in
-- ms), KEYS[3] the phone's latest-session pointer, KEYS[4] the languages
-- hash (field = phone).
-- ARGV[1] expected version (0 = must not exist), ARGV[2] data, ARGV[3] ttl
-- ms, ARGV[4] pointer value ("" = leave the pointer), ARGV[5] pointer ttl
-- ms, ARGV[6] language ("" = leave it), ARGV[7] phone.
-- Returns the new version, or -1 when the stored version differs (and then
-- writes nothing).
local cur = 0
local s = redis.pcall('GET', KEYS[1])
if type(s) == 'table' and s.err then
  -- a hash record from an older release: the SET below replaces it
  cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
elseif s then
  cur = tonumber(string.sub(s, 1, string.find(s, ':', 1, true) - 1))
end
local expect = tonumber(ARGV[1])
if cur ~= expect then
  return -1
end
local ttl = tonumber(ARGV[3])
local nv = expect + 1
redis.call('SET', KEYS[1], nv .. ':' .. ARGV[2], 'PX', ttl)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
if expect == 0 then
  -- trim the index when a session starts, not on every hop: as often as
  -- sessions come, which keeps it at the live ones for a tenth the work
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', tonumber(ARGV[5]))
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[7], ARGV[6])
end
return nv
