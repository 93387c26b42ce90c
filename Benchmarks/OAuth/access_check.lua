-- POST /access/check token + permission, client authenticated with HTTP Basic.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
wrk.body = "permission=project%3Aread&token=" .. os.getenv("ACCESS_TOKEN")
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"allowed":true', 1, true) then io.stderr:write("status " .. status .. " " .. body .. "\n") end
end
