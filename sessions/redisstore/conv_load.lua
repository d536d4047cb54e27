-- One SMS conversation's read: the record and the phone's language (the
-- same hash USSD hops read), whether or not the record exists.
-- KEYS[1] conversation key (hash: v = version, d = data), KEYS[2] the
-- phone's language.
-- Returns {version or false, data or false, language or false}.
local r = redis.call('HMGET', KEYS[1], 'v', 'd')
return {r[1], r[2], redis.call('GET', KEYS[2])}
