-- One hop's read: the session record and, when there is none, what a new
-- session's first screen needs about the phone.
-- KEYS[1] record key, KEYS[2] the phone's latest-session pointer, KEYS[3]
-- the languages hash. ARGV[1] phone, ARGV[2] the record key prefix.
-- Returns {version, data} for an existing session, else
-- {false, false, language or false, latest session data or false}.
-- The latest session's key is read from the pointer, so it is not in KEYS:
-- fine on a single Redis or a Sentinel-managed one, not on Redis Cluster.
local r = redis.call('HMGET', KEYS[1], 'v', 'd')
if r[1] then
  return {r[1], r[2]}
end
local lang = redis.call('HGET', KEYS[3], ARGV[1])
local latest = false
local ptr = redis.call('GET', KEYS[2])
if ptr then
  latest = redis.call('HGET', ARGV[2] .. ptr, 'd')
end
return {false, false, lang, latest}
