-- Appends a task that ended without success to the dead-letter stream, in the same atomic step as
-- its final status, with a snapshot of its submission: a re-submission must not depend on the
-- record, which expires after RESULT_EXPIRES.
local function dead_letter(task_key, stream, reason, error_json, at)
  local f = redis.call('HMGET', task_key, 'id', 'task', 'queue', 'priority', 'attempts', 'trace_id', 'input',
    'max_retries', 'time_limit', 'soft_time_limit', 'metadata', 'callback', 'retry_on_timeout')
  redis.call('XADD', stream, '*', 'reason', reason, 'task_id', f[1] or '', 'task', f[2] or '', 'queue', f[3] or '',
    'priority', f[4] or '', 'attempts', f[5] or '', 'trace_id', f[6] or '', 'input', f[7] or '', 'max_retries', f[8] or '',
    'time_limit', f[9] or '', 'soft_time_limit', f[10] or '', 'metadata', f[11] or '', 'callback', f[12] or '',
    'retry_on_timeout', f[13] or '', 'error', error_json, 'at', at)
end

-- A running task whose worker died once too often (poison): failed, WORKER_LOST, dead-lettered.
local function lose(task_key, events_key, callbacks_key, dead_letters, used, how, at, ttl)
  local err = cjson.encode({type = '{{WORKER_LOST}}', message = 'the worker running this task ' .. how .. ' ' .. used .. ' time(s); not retried further', retryable = false})
  redis.call('HSET', task_key, 'status', 'failed', 'finished_at', at, 'error', err)
  finalize(task_key, events_key, callbacks_key, 'failed', at, ttl)
  dead_letter(task_key, dead_letters, 'worker_lost', err, at)
end
