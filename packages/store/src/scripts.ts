/**
 * Lua scripts: each status change is one atomic round trip that checks the current status first,
 * so a finished task never changes again and a cancelled task never starts. The allowed "from"
 * statuses are passed in from the status machine in @celerity/core rather than repeated here.
 */
const IS_ALLOWED = `
local function allowed(status, list) return string.find(',' .. list .. ',', ',' .. status .. ',', 1, true) ~= nil end
`;

/** KEYS: task. ARGV: worker, started_at, allowed-from list, redelivered ('1'|'0'). */
export const START_SCRIPT = `${IS_ALLOWED}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == 'running' and ARGV[4] ~= '1' then return {'skip', status} end
if not allowed(status, ARGV[3]) then return {'skip', status} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'started_at', ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'input', 'time_limit', 'soft_time_limit')
return {'started', tostring(attempts), f[1] or 'null', f[2] or '', f[3] or ''}
`;

/** KEYS: task. ARGV: status, finished_at, result (gzip bytes or ''), error JSON or '', ttl seconds, allowed-from list. */
export const FINISH_SCRIPT = `${IS_ALLOWED}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if not allowed(status, ARGV[6]) then return status end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 'ok'
`;

/** KEYS: task, control channel. ARGV: id, finished_at, ttl seconds, terminate ('1'|'0'), allowed-from list. */
export const CANCEL_SCRIPT = `${IS_ALLOWED}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if not allowed(status, ARGV[5]) then return {'finished', status} end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if status == 'running' then
  redis.call('PUBLISH', KEYS[2], cjson.encode({type = 'cancel', id = ARGV[1], terminate = ARGV[4] == '1'}))
end
return {'cancelled', status}
`;

/** KEYS: task. ARGV: progress JSON. Only a running task takes progress. */
export const PROGRESS_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
return 1
`;
