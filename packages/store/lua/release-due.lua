-- Forgets published tasks unless they were rescheduled meanwhile (a newer score).
-- KEYS: scheduled set. ARGV: lease-until ms, ids...
local removed = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('ZREM', KEYS[1], ARGV[i]); removed = removed + 1
  end
end
return removed
