-- Counters and histograms of task outcomes (keys.ts `stats`, read by stats.ts), written by the
-- status-change scripts in the same atomic step as the change. Increments of one script call are
-- summed here and written once at the end (stats_flush): one HINCRBY per field for one or two
-- fields, else one HMGET and one HSET for all of them, whatever the batch size.
-- Fields (names and queues carry no '|'):
--   n|<queue>|<task>|<event>        events: submitted, started, succeeded, failed, timed_out,
--                                   cancelled, expired, retried; restarted (redelivered while running),
--                                   released (handed back by a worker), cancelled_waiting
--   r|<queue>|<task>|<priority>|<le> run time (started -> finished) per bucket, not cumulative
--   rs|<queue>|<task>|<priority>    sum of run times, ms
--   w|<queue>|<priority>|<le>       wait time (eta, else created -> started of the last attempt)
--   ws|<queue>|<priority>           sum of wait times, ms
-- Running tasks are kept in `running:<queue>` (id scored by start ms), finished ones in
-- `done:<status>:<queue>:<task>` (member '<finished ms, 13 digits>:<id>', score 0, newest last),
-- tasks waiting in their queue in `pending:<queue>:<task>` (id, score 0: lexical = creation order),
-- the lists GET /tasks reads; their keys are built from the prefix, like reap-leases' record keys.
local BUCKETS_MS = {{{BUCKETS_MS}}}
local stats_pending, stats_fields = {}, {}

local function stats_count(field, n)
  if not stats_pending[field] then stats_pending[field] = 0; table.insert(stats_fields, field) end
  stats_pending[field] = stats_pending[field] + (n or 1)
end

local function le_of(ms)
  for _, upper in ipairs(BUCKETS_MS) do
    if ms <= upper then return tostring(upper) end
  end
  return 'inf'
end

-- ISO-8601 UTC as written by Date#toISOString -> ms since the epoch (days from the civil date)
local function iso_ms(s)
  if not s or s == '' then return nil end
  local y, mo, d, h, mi, sec, ms = string.match(s, '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$')
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return (((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60 + tonumber(sec)) * 1000 + (ms ~= '' and tonumber(ms) or 0)
end

-- a task left `running`: its run time, and the wait before it when `ready` (eta or created_at) is known
local function observe_run(queue, task, priority, started_iso, ready_iso, finished_ms)
  local started = iso_ms(started_iso)
  if not started then return end
  local run = math.max(0, finished_ms - started)
  stats_count('r|' .. queue .. '|' .. task .. '|' .. priority .. '|' .. le_of(run))
  stats_count('rs|' .. queue .. '|' .. task .. '|' .. priority, run)
  local ready = iso_ms(ready_iso)
  if ready then
    local wait = math.max(0, started - ready)
    stats_count('w|' .. queue .. '|' .. priority .. '|' .. le_of(wait))
    stats_count('ws|' .. queue .. '|' .. priority, wait)
  end
end

local function stats_flush(stats_key)
  local n = #stats_fields
  if n == 0 then return end
  if n <= 2 then
    for _, field in ipairs(stats_fields) do redis.call('HINCRBY', stats_key, field, stats_pending[field]) end
  else
    local current = redis.call('HMGET', stats_key, unpack(stats_fields))
    local args = {}
    for i, field in ipairs(stats_fields) do
      args[2 * i - 1] = field
      args[2 * i] = string.format('%.0f', (tonumber(current[i]) or 0) + stats_pending[field])
    end
    redis.call('HSET', stats_key, unpack(args))
  end
  stats_pending, stats_fields = {}, {}
end

local function done_member(finished_ms, id)
  return string.format('%013.0f', finished_ms) .. ':' .. id
end

-- ZADD/ZREM of one call grouped per key (a batch of one queue is one command), written at flush
local zset_writes, zset_order = {}, {}
local function zset_later(command, key, ...)
  local id = command .. ' ' .. key
  local args = zset_writes[id]
  if not args then args = {}; zset_writes[id] = args; table.insert(zset_order, {command, key, id}) end
  for _, v in ipairs({...}) do table.insert(args, v) end
end

local function running_key(prefix, queue) return prefix .. 'running:' .. queue end
local function done_key(prefix, status, queue, task) return prefix .. 'done:' .. status .. ':' .. queue .. ':' .. task end
local function pending_key(prefix, queue, task) return prefix .. 'pending:' .. queue .. ':' .. task end

-- a task left `pending` (started, expired, cancelled, rescheduled): out of its pending list
local function left_pending(prefix, status, id, queue, task)
  if status == 'pending' then zset_later('ZREM', pending_key(prefix, queue, task), id) end
end

-- a task reached a final status: counted, out of the running list (when it ran), into its final list
local function note_final(prefix, id, queue, task, status, finished_ms, was_running)
  stats_count('n|' .. queue .. '|' .. task .. '|' .. status)
  if was_running then zset_later('ZREM', running_key(prefix, queue), id)
  elseif status == 'cancelled' then stats_count('n|' .. queue .. '|' .. task .. '|cancelled_waiting') end
  zset_later('ZADD', done_key(prefix, status, queue, task), 0, done_member(finished_ms, id))
end

local function zset_flush()
  for _, w in ipairs(zset_order) do redis.call(w[1], w[2], unpack(zset_writes[w[3]])) end
  zset_writes, zset_order = {}, {}
end

local function stats_and_lists_flush(stats_key)
  stats_flush(stats_key)
  zset_flush()
end
