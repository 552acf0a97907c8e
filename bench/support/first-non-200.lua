-- wrk: prints the first answer that is not a 200 (status and body) to stderr; the scripts load it with dofile.
local reported = false
response = function(status, headers, body)
  if status ~= 200 and not reported then
    reported = true
    io.stderr:write("first non-200: " .. status .. " " .. body .. "\n")
  end
end
