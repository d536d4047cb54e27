-- Compare-and-swap of one SMS conversation, with the phone's language in
-- the same atomic step. Conversations are not USSD sessions: they stay
-- out of the active index.
-- KEYS[1] conversation key, KEYS[2] the phone's language.
-- ARGV[1] expected version (0 = must not exist), ARGV[2] data, ARGV[3]
-- ttl ms, ARGV[4] language ("" = leave it).
-- Returns the new version, or -1 when the stored version differs (and then
-- writes nothing).
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then
  return -1
end
local nv = cur + 1
redis.call('HSET', KEYS[1], 'v', nv, 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4])
end
return nv
