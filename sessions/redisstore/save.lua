-- Compare-and-swap of one session record, atomic on the Redis server: one
-- read (MGET) and one write (SET), and one more SET only when the hop also
-- chooses a language or takes the phone's slot from a session still stored.
-- A record lives in one of two places: its own key, "<version>:<data>",
-- or the phone's slot, the phone's latest session (see slot.lua for
-- the slot's form). The slot's copy, when it names this session, is the
-- current one; the own key then holds an older copy, left to expire.
-- KEYS[1] the record's own key, KEYS[2] the phone's slot, KEYS[3] the
-- phone's language.
-- ARGV[1] the session's id, ARGV[2] expected version (0 = must not
-- exist), ARGV[3] data, ARGV[4] ttl ms, ARGV[5] until when (ms since the
-- epoch) the session is the phone's latest, when this save marks it (0 =
-- it does not), ARGV[6] language ("" = leave it), ARGV[7] now (ms since
-- the epoch), ARGV[8] the own keys' prefix, ARGV[9] the SHA-1 (hex) of
-- the data the caller expects to be stored, when its record came from its
-- own copy rather than a read ("" = the version alone is checked).
-- Returns the new version, or, when the stored record is not the expected
-- one (and then nothing is written): -1, or with ARGV[9] set the stored
-- record as {version, data} ({0, false} when there is none).
local r = redis.call('MGET', KEYS[1], KEYS[2])
local own, slot = r[1], r[2]
local cur, inslot, curdata = 0, false, false
local sv, sexp, slat, sid, sdata
if slot then
  sv, sexp, slat, sid, sdata = parse_slot(slot)
  if sid == ARGV[1] then
    cur, inslot, curdata = sv, true, sdata
  end
end
if not inslot and own then
  local c = string.find(own, ':', 1, true)
  cur = tonumber(string.sub(own, 1, c - 1))
  if ARGV[9] ~= '' then
    curdata = string.sub(own, c + 1)
  end
end
if ARGV[9] ~= '' then
  if cur ~= tonumber(ARGV[2]) or not curdata or redis.sha1hex(curdata) ~= ARGV[9] then
    return {cur, curdata}
  end
elseif cur ~= tonumber(ARGV[2]) then
  return -1
end
local nv = cur + 1
local ttl = tonumber(ARGV[4])
local now = tonumber(ARGV[7])
if ARGV[5] ~= '0' or inslot then
  local latest = ARGV[5]
  if latest == '0' then
    latest = slat
  end
  if slot and not inslot and sexp > now then
    -- another session still stored gives up the slot: its record goes
    -- back to its own key, as current as it was, for what it had left
    redis.call('SET', ARGV[8] .. sid, sv .. ':' .. sdata, 'PX', sexp - now)
  end
  redis.call('SET', KEYS[2], nv .. ':' .. (now + ttl) .. ':' .. latest .. ':' .. #ARGV[1] .. ':' .. ARGV[1] .. ARGV[3], 'PX', ttl)
else
  redis.call('SET', KEYS[1], nv .. ':' .. ARGV[3], 'PX', ttl)
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], ARGV[6])
end
return nv
