-- A short lease held by one owner at a time (the worker that moves due scheduled tasks): taken when
-- free, extended when the caller holds it already, refused otherwise. One step, so the lease cannot
-- run out and change hands between reading its holder and extending it.
-- KEYS: lock. ARGV: owner, ttl ms. Returns 1 when the caller holds it now, else 0.
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
