#!/usr/bin/env bash
# OAuth benchmarks: a release `lamba serve` on a fresh SQLite database on 127.0.0.1, the demo data
# set, then wrk against client_credentials (ES256), refresh with rotation, and the access check,
# with GET discovery as the HTTP stack's own ceiling. The targets run in ROUNDS interleaved rounds
# (this VM's speed drifts by a quarter within minutes); the summary gives every round and the median.
#   Benchmarks/OAuth/bench.sh            (ROUNDS=3 DURATION=10s THREADS=1 CONNS=64 PORT=18180; LAMBA_BIN=another build)
# THREADS=1: wrk shares the server's two cores; a second wrk thread takes more from the server
# than it adds to the load.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/Benchmarks/OAuth"
DURATION="${DURATION:-10s}"; THREADS="${THREADS:-1}"; CONNS="${CONNS:-64}"; PORT="${PORT:-18180}"; ROUNDS="${ROUNDS:-3}"
BIN="${LAMBA_BIN:-$ROOT/.build/release/lamba}"
[ -x "$BIN" ] || { echo "build first: swift build -c release --product lamba" >&2; exit 1; }
WORK="$(mktemp -d)"; export LAMBA_KEYS_DIR="$WORK/keys" LAMBA_LOG_LEVEL=warning
DB="sqlite://$WORK/lamba.sqlite"; BASE="http://127.0.0.1:$PORT"
"$BIN" demo --json --database "$DB" --public-url "$BASE" > "$WORK/demo.json"
"$BIN" serve --port "$PORT" --database "$DB" > "$WORK/serve.log" 2>&1 &
PID=$!; trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
sleep 2
echo "idle RSS: $(( $(ps -o rss= -p $PID) / 1024 )) MiB"
export THREADS
ISSUER="$BASE/p/demo/sandbox"
# Token material: a signed-in session, 2 × CONNS refresh token families, one access token. Made
# again before each refresh run, since a run rotates every token it was given.
prepare() {
  python3 "$HERE/prepare.py" "$BASE" "$WORK/demo.json" "$((CONNS * 2))" > "$WORK/material.json"
  BASIC="$(python3 -c "import json;print(json.load(open('$WORK/material.json'))['basic'])")"
  ACCESS_TOKEN="$(python3 -c "import json;print(json.load(open('$WORK/material.json'))['access_token'])")"
  REFRESH_TOKENS="$(python3 -c "import json;print(','.join(json.load(open('$WORK/material.json'))['refresh_tokens']))")"
  export BASIC ACCESS_TOKEN REFRESH_TOKENS
}
# The answer a target must give, asked with curl before and after its run: scripts without a
# response() hook cannot see bodies, and wrk reports any non-2xx itself.
check() {
  local body; body="$(curl -s -H "Authorization: $BASIC" "${@:2}")"
  grep -q "$1" <<<"$body" || { echo "   check failed: expected $1, got: ${body:0:200}" >&2; exit 1; }
}
check_cc() { check '"token_type":"Bearer"' -d grant_type=client_credentials "$ISSUER/token"; }
check_ac() { check '"allowed":true' --data-urlencode permission=project:read --data-urlencode "token=$ACCESS_TOKEN" "$ISSUER/access/check"; }
# run LABEL SCRIPT URL: one wrk run; its figures go to the screen and to $WORK/results.
run() {
  local out="$WORK/wrk.out"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency ${2:+-s "$HERE/$2"} "$3" >"$out" 2>"$WORK/wrk.err" || true
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$out"); p50=$(awk '$1=="50%" {print $2}' "$out"); p99=$(awk '$1=="99%" {print $2}' "$out")
  bad=$(grep -E "Non-2xx|Socket errors" "$out" | tr -s ' ' | tr '\n' ';' || true)
  printf '%-40s %10s req/s  p50 %8s  p99 %8s  %s\n' "$1" "$rps" "$p50" "$p99" "$bad"
  if [ -s "$WORK/wrk.err" ]; then echo "   errors: $(sort "$WORK/wrk.err" | uniq -c | head -3)"; fi
  echo "$1|$rps|$p99" >> "$WORK/results"
}
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  prepare
  run "GET discovery (ceiling)" "" "$ISSUER/.well-known/openid-configuration"
  check_cc; run "client_credentials (ES256)" client_credentials.lua "$ISSUER/token"; check_cc
  run "refresh_token with rotation (SQLite)" refresh.lua "$ISSUER/token"
  check_ac; run "access check" access_check.lua "$ISSUER/access/check"; check_ac
done
echo "RSS after load: $(( $(ps -o rss= -p $PID) / 1024 )) MiB"
echo "== summary (every round; median)"
python3 - "$WORK/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, rps, p99 = line.strip().split("|")
    runs.setdefault(label, []).append((float(rps or 0), p99))
for label, values in runs.items():
    rates = [r for r, _ in values]
    print(f"{label:40s} {' / '.join(f'{r:,.0f}' for r in rates)} req/s (median {statistics.median(rates):,.0f}); p99 {' / '.join(p for _, p in values)}")
PY
