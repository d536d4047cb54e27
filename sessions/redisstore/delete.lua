-- Removes one session wherever it lives: its own key, and the phone's slot
-- when the slot holds it.
-- KEYS[1] the record's own key, KEYS[2] the phone's slot, KEYS[3] the
-- active index. ARGV[1] the session's id.
local slot = redis.call('GET', KEYS[2])
if slot then
  local _, _, _, id = parse_slot(slot)
  if id == ARGV[1] then
    redis.call('DEL', KEYS[2])
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 0
