-- wrk script: POST a single track event (or a 20-event batch when BATCH=20) with a unique messageId per event.
local counter = 0
local thread_id = 0
local batch = tonumber(os.getenv("BATCH") or "1")

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

local function event()
  counter = counter + 1
  return string.format('{"type":"track","userId":"u%d","event":"Product Viewed","messageId":"w-%s-%d-%d","properties":{"sku":"sku-%d","price":19.99}}',
    counter % 5000, os.getenv("RUN_ID") or "0", id, counter, counter % 300)
end

request = function()
  local body
  if batch > 1 then
    local events = {}
    for i = 1, batch do events[i] = event() end
    body = '{"batch":[' .. table.concat(events, ",") .. ']}'
  else
    body = event()
  end
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = os.getenv("AUTH") }, body)
end

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "../support/first-non-200.lua")
