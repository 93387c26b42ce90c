-- POST /access/check token + permission, client authenticated with HTTP Basic.
-- No response() hook (see client_credentials.lua); bench.sh checks `"allowed":true` with curl
-- before and after the run, and wrk counts non-2xx.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
wrk.body = "permission=project%3Aread&token=" .. os.getenv("ACCESS_TOKEN")
