-- KEYS: definitions, state. ARGV: name, paused ('1'|'0'), now ms. Resuming moves the cursor to now: fires of the pause are not made up.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[2], 'paused', '1')
else
  if redis.call('HDEL', KEYS[2], 'paused') == 1 and tonumber(redis.call('HGET', KEYS[2], 'cursor') or '0') < tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[2], 'cursor', ARGV[3])
  end
end
return 1
