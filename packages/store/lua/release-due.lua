-- Forgets entries of the scheduled set whose messages are confirmed, each unless it was rescheduled
-- meanwhile (its score is no longer the one the caller set: a retry, or a new claim). Two commands
-- per thousand entries: one ZMSCORE, one ZREM (in chunks: unpack has a limit).
-- KEYS: scheduled set. ARGV: id, score the caller set, id, score, ...
local CHUNK = 1000
local removed = 0
for first = 1, #ARGV, 2 * CHUNK do
  local ids, wanted = {}, {}
  for i = first, math.min(#ARGV, first + 2 * CHUNK - 1), 2 do
    ids[#ids + 1] = ARGV[i]
    wanted[#wanted + 1] = ARGV[i + 1]
  end
  local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids))
  local gone = {}
  for n, id in ipairs(ids) do
    if scores[n] and scores[n] == wanted[n] then gone[#gone + 1] = id end
  end
  if #gone > 0 then
    redis.call('ZREM', KEYS[1], unpack(gone))
    removed = removed + #gone
  end
end
return removed
