-- A watcher arrives: from now on the task's status and progress changes are kept as events
-- (events.lua). Only an existing record is marked, so an unknown id leaves nothing behind.
-- KEYS: record. Returns 1 when marked, 0 when there is no such record.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'watched', '1')
return 1
