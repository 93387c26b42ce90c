-- POST /token grant_type=client_credentials with HTTP Basic (BASIC from the environment).
-- No response() hook, as in the peer's scripts: a Lua call per response costs wrk's share of the
-- two cores. bench.sh checks the answer with curl before and after, and wrk counts non-2xx.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
wrk.body = "grant_type=client_credentials"
