#!/usr/bin/env bash
# Sign-ins per second through the hosted pages, with and without an authenticator app (TOTP),
# against a release `lamba serve` on a fresh SQLite database on 127.0.0.1; the baseline is the
# Argon2id hash rate of Debian's `argon2` CLI with the same parameters (t=2, 19 MiB, p=1) measured
# in the same run, since every password sign-in is one Argon2id verification.
#   Benchmarks/signin.sh [users per round] [rounds] [workers]   (defaults 150 3 8; LAMBA_BIN=another build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PER_ROUND="${1:-150}"; ROUNDS="${2:-3}"; WORKERS="${3:-8}"; PORT="${PORT:-18190}"
BIN="${LAMBA_BIN:-$ROOT/.build/release/lamba}"
[ -x "$BIN" ] || { echo "build first: swift build -c release --product lamba" >&2; exit 1; }
command -v argon2 >/dev/null || { echo "needs Debian's argon2 CLI: apt-get install argon2" >&2; exit 1; }
WORK="$(mktemp -d)"; export LAMBA_KEYS_DIR="$WORK/keys" LAMBA_LOG_LEVEL=warning LAMBA_MAILDIR="$WORK/mail"
DB="sqlite://$WORK/lamba.sqlite"; BASE="http://127.0.0.1:$PORT"
"$BIN" demo --json --database "$DB" --public-url "$BASE" > "$WORK/demo.json"
"$BIN" serve --port "$PORT" --database "$DB" > "$WORK/serve.log" 2>&1 &
PID=$!; trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
# Baseline: sequential Argon2id hashes on one core, times the two cores a server has here.
start=$(date +%s.%N)
for _ in $(seq 40); do echo -n "bench password 1" | argon2 saltsaltsaltsalt -id -t 2 -k 19456 -p 1 -l 32 -r >/dev/null; done
end=$(date +%s.%N)
python3 -c "print(f'argon2id baseline: {40 / ($end - $start):.1f} hashes/s on one core, {2 * 40 / ($end - $start):.1f} on two')"
python3 "$ROOT/Benchmarks/SignIn/signin_bench.py" "$BASE" "$WORK/demo.json" "$PER_ROUND" "$ROUNDS" "$WORKERS"
