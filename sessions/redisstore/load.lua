-- One hop's read: the session record and, when there is none, what a new
-- session's first screen needs about the phone.
-- KEYS[1] record key, KEYS[2] the phone's latest-session pointer, KEYS[3]
-- the languages hash. ARGV[1] phone, ARGV[2] the record key prefix.
-- Returns {version, data} for an existing session, else
-- {false, false, language or false, latest session data or false}.
-- A record is one string, "<version>:<data>" (see save.lua); a record
-- written as a hash (v, d) by an older release is still read.
-- The latest session's key is read from the pointer, so it is not in KEYS:
-- fine on a single Redis or a Sentinel-managed one, not on Redis Cluster.
local function record(key)
  local s = redis.pcall('GET', key)
  if type(s) == 'table' and s.err then
    local r = redis.call('HMGET', key, 'v', 'd')
    return r[1], r[2]
  end
  if not s then
    return false, false
  end
  local i = string.find(s, ':', 1, true)
  return string.sub(s, 1, i - 1), string.sub(s, i + 1)
end
local v, d = record(KEYS[1])
if v then
  return {v, d}
end
local lang = redis.call('HGET', KEYS[3], ARGV[1])
local latest = false
local ptr = redis.call('GET', KEYS[2])
if ptr then
  local _, ld = record(ARGV[2] .. ptr)
  latest = ld
end
return {false, false, lang, latest}
