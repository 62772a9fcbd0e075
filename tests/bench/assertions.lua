-- wrk script for private_key_jwt issuance: every request sends its own signed assertion (a
-- jti is accepted once), read from WRK_ASSERTIONS (one form body per line, made by
-- assertions.py). Threads take alternate lines. Results: report.lua.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local bodies = {}
local next_body = 0

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  local i = 0
  for line in io.lines(os.getenv("WRK_ASSERTIONS")) do
    if i % n == id then
      table.insert(bodies, line)
    end
    i = i + 1
  end
end

function request()
  next_body = next_body + 1
  -- Past the last one, bodies repeat and are refused as replays (counted as errors).
  local body = bodies[(next_body - 1) % #bodies + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

dofile("tests/bench/report.lua")
