-- POST /token grant_type=refresh_token with rotation: every response's new refresh token goes back
-- into this thread's queue. Each thread gets its own slice of the prepared tokens (one family each),
-- at least as many as its connections, so no token is ever presented twice (which would be reuse
-- and revoke the runtime scope).
local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  queue = {}
  local tokens = os.getenv("REFRESH_TOKENS")
  local n = tonumber(os.getenv("THREADS"))
  local i = 0
  for token in string.gmatch(tokens, "[^,]+") do
    if i % n == id - 1 then table.insert(queue, token) end
    i = i + 1
  end
  failures = 0
end
function request()
  local token = table.remove(queue, 1)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = os.getenv("BASIC")},
                    "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if status == 200 and token then table.insert(queue, token) else io.stderr:write("status " .. status .. " " .. body .. "\n"); os.exit(1) end
end
