-- Forgets entries of the scheduled set whose messages are confirmed, each unless it was rescheduled
-- meanwhile (its score is no longer the one the caller set: a retry, or a new claim).
-- KEYS: scheduled set. ARGV: id, score the caller set, id, score, ...
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], ARGV[i]); removed = removed + 1
  end
end
return removed
