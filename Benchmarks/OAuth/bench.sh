#!/usr/bin/env bash
# OAuth benchmarks: a release `lamba serve` on a fresh SQLite database on 127.0.0.1, the demo data
# set, then wrk against client_credentials (ES256), refresh with rotation, and the access check.
#   Benchmarks/OAuth/bench.sh            (DURATION=15s THREADS=2 CONNS=64 PORT=18180)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/Benchmarks/OAuth"
DURATION="${DURATION:-15s}"; THREADS="${THREADS:-2}"; CONNS="${CONNS:-64}"; PORT="${PORT:-18180}"
BIN="$ROOT/.build/release/lamba"
[ -x "$BIN" ] || { echo "build first: swift build -c release --product lamba" >&2; exit 1; }
WORK="$(mktemp -d)"; export LAMBA_KEYS_DIR="$WORK/keys" LAMBA_LOG_LEVEL=warning
DB="sqlite://$WORK/lamba.sqlite"; BASE="http://127.0.0.1:$PORT"
"$BIN" demo --json --database "$DB" --public-url "$BASE" > "$WORK/demo.json"
"$BIN" serve --port "$PORT" --database "$DB" > "$WORK/serve.log" 2>&1 &
PID=$!; trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
sleep 2
echo "idle RSS: $(( $(ps -o rss= -p $PID) / 1024 )) MiB"
python3 "$HERE/prepare.py" "$BASE" "$WORK/demo.json" "$((CONNS * 2))" > "$WORK/material.json"
export BASIC="$(python3 -c "import json;print(json.load(open('$WORK/material.json'))['basic'])")"
export ACCESS_TOKEN="$(python3 -c "import json;print(json.load(open('$WORK/material.json'))['access_token'])")"
export REFRESH_TOKENS="$(python3 -c "import json;print(','.join(json.load(open('$WORK/material.json'))['refresh_tokens']))")"
export THREADS
ISSUER="$BASE/p/demo/sandbox"
# The answer a target must give, asked with curl before and after its run: scripts without a
# response() hook cannot see bodies, and wrk reports any non-2xx itself.
check() {
  local body; body="$(curl -s -H "Authorization: $BASIC" "${@:2}")"
  grep -q "$1" <<<"$body" || { echo "   check failed: expected $1, got: ${body:0:200}" >&2; exit 1; }
}
check_cc() { check '"token_type":"Bearer"' -d grant_type=client_credentials "$ISSUER/token"; }
check_ac() { check '"allowed":true' --data-urlencode permission=project:read --data-urlencode "token=$ACCESS_TOKEN" "$ISSUER/access/check"; }
run() {
  echo "== $1"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$HERE/$2" "$ISSUER/$3" 2>"$WORK/$2.err" \
    | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors|Latency " || true
  if [ -s "$WORK/$2.err" ]; then echo "   errors: $(sort "$WORK/$2.err" | uniq -c | head -3)"; fi
}
# The HTTP stack's ceiling in the same run: GET discovery (cached, no signature, no database).
echo "== GET discovery (ceiling)"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$ISSUER/.well-known/openid-configuration" | grep -E "Requests/sec|99%|Non-2xx" || true
check_cc; run "client_credentials (ES256)" client_credentials.lua token; check_cc
run "refresh_token with rotation (SQLite)" refresh.lua token
check_ac; run "access check" access_check.lua access/check; check_ac
echo "RSS after load: $(( $(ps -o rss= -p $PID) / 1024 )) MiB"
