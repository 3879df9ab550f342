--- @include allowed
--- @include events
-- Cancels a task that is not finished; a running one is told to stop through the control channel.
-- KEYS: record, events, callbacks, control channel.
-- ARGV: id, finished_at, ttl seconds, terminate ('1' | ''), allowed-from list.
-- Returns {'cancelled', previous status} | {'finished', status} | {'missing'}.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if not allowed(status, ARGV[5]) then return {'finished', status} end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[2])
finalize(KEYS[1], KEYS[2], KEYS[3], 'cancelled', ARGV[2], ARGV[3])
if status == 'running' then
  redis.call('PUBLISH', KEYS[4], cjson.encode({type = 'cancel', id = ARGV[1], terminate = ARGV[4] == '1'}))
end
return {'cancelled', status}
