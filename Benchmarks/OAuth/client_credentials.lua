-- POST /token grant_type=client_credentials with HTTP Basic (BASIC from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
wrk.body = "grant_type=client_credentials"
function response(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. " " .. body .. "\n") end
end
