-- wrk script: GET a random profile lookup (a line of the file PATHS: by identifier or by profile id).
-- DELAY_MS > 0 paces each connection (a random pause of 0..2*DELAY_MS ms after each answer), so that
-- N connections send about N * 1000 / (DELAY_MS + latency) requests a second: wrk cannot fix a rate.
local paths = {}
local auth = os.getenv("AUTH") or ""
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
  math.randomseed(os.time() * 1000 + id)
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], { ["Authorization"] = auth })
end

if delay_ms > 0 then
  delay = function()
    return math.random(0, 2 * delay_ms)
  end
end

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "../support/first-non-200.lua")
