-- Is `status` in the comma-separated list `list` (the "from" statuses of a transition, computed by
-- the status machine in @celerity/core and passed in, so they are not repeated here)?
local function allowed(status, list) return string.find(',' .. list .. ',', ',' .. status .. ',', 1, true) ~= nil end
