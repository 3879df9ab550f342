--- @include allowed
--- @include events
--- @include stats
-- Cancels a task that is not finished; a running one is told to stop through the control channel,
-- and its record says `stopping` until the worker stores that its execution ended (finish.lua).
-- A cancelled task whose execution is still stopping can still be terminated.
-- KEYS: record, events, callbacks, control channel, stats.
-- ARGV: id, finished_at, ttl seconds, terminate ('1' | ''), allowed-from list, key prefix, finished_at ms,
-- error JSON ('' = none; a queue purge says so).
-- Returns {'cancelled', previous status} | {'terminating', cancelled at} | {'finished', status, stopping ('1' | '')} | {'missing'}.
local f = redis.call('HMGET', KEYS[1], 'status', 'stopping', 'finished_at', 'queue', 'task')
local status, stopping = f[1], f[2]
if not status then return {'missing'} end
if not allowed(status, ARGV[5]) then
  if status == 'cancelled' and stopping == '1' and ARGV[4] == '1' then
    redis.call('PUBLISH', KEYS[4], cjson.encode({type = 'cancel', id = ARGV[1], terminate = true}))
    return {'terminating', f[3]}
  end
  return {'finished', status, stopping == '1' and '1' or ''}
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[2])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[8]) end
if status == 'running' then redis.call('HSET', KEYS[1], 'stopping', '1') end
finalize(KEYS[1], KEYS[2], KEYS[3], 'cancelled', ARGV[2], ARGV[3])
note_final(ARGV[6], ARGV[1], f[4], f[5], 'cancelled', tonumber(ARGV[7]), status == 'running')
left_pending(ARGV[6], status, ARGV[1], f[4], f[5])
stats_and_lists_flush(KEYS[5])
if status == 'running' then
  redis.call('PUBLISH', KEYS[4], cjson.encode({type = 'cancel', id = ARGV[1], terminate = ARGV[4] == '1'}))
end
return {'cancelled', status}
