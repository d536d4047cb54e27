-- The phone's slot, shared by the scripts that read it (prepended to
-- each): "<version>:<expiry ms>:<latest until ms>:<id length>:<id><data>".
-- Returns version, expiry, latest until (a string), id, data.
local function parse_slot(slot)
  local a = string.find(slot, ':', 1, true)
  local b = string.find(slot, ':', a + 1, true)
  local c = string.find(slot, ':', b + 1, true)
  local d = string.find(slot, ':', c + 1, true)
  local n = tonumber(string.sub(slot, c + 1, d - 1))
  return tonumber(string.sub(slot, 1, a - 1)), tonumber(string.sub(slot, a + 1, b - 1)),
    string.sub(slot, b + 1, c - 1), string.sub(slot, d + 1, d + n), string.sub(slot, d + n + 1)
end
