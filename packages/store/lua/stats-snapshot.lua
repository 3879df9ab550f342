-- Keeps a copy of the counters (keys.ts `stats`) once a minute, for rates over the last minute,
-- hour and day: the newest hour a copy a minute, older ones one an hour (the first of each hour),
-- nothing older than a day and an hour. Any API replica may call it; a minute is taken once.
-- KEYS: stats, history. ARGV: this minute (ms), keep every minute from (ms), keep at all from (ms).
-- Returns 1 when a copy was taken, 0 when this minute had one already.
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= tonumber(ARGV[1]) then return 0 end
local flat = redis.call('HGETALL', KEYS[1])
local copy = {}
for i = 1, #flat, 2 do copy[flat[i]] = tonumber(flat[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1] .. ' ' .. (#flat == 0 and '{}' or cjson.encode(copy)))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
local hour = nil
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], ARGV[3], '(' .. ARGV[2], 'BYSCORE')) do
  local h = math.floor(tonumber(string.match(member, '^(%d+)')) / 3600000)
  if h == hour then redis.call('ZREM', KEYS[2], member) else hour = h end
end
return 1
