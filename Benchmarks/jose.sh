#!/usr/bin/env bash
# Sign/verify throughput of LambaJOSE per algorithm beside `openssl speed` for the same primitive,
# one thread each, measured back to back on the same machine in the same run. Each pair runs
# `rounds` times and the best figure of each side is kept, which filters out other load.
# Usage: Benchmarks/jose.sh [seconds-per-measurement] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-2}
rounds=${2:-3}
swift build -c release --product lamba-jose-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/lamba-jose-bench
declare -A primitive=([RS256]=rsa2048 [PS256]=rsa2048 [ES256]=ecdsap256 [EdDSA]=ed25519)
results=$(mktemp)
for round in $(seq "$rounds"); do
  for alg in RS256 PS256 ES256 EdDSA; do
    echo "openssl $alg $(openssl speed -seconds "$seconds" "${primitive[$alg]}" 2>/dev/null | tail -1)" >>"$results"
    echo "lamba $alg $("$bin" "$seconds" "$alg")" >>"$results"
  done
done
python3 - "$results" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    who, alg, rest = line.split(" ", 2)
    if who == "openssl":
        fields = rest.split()
        sign, verify = float(fields[-2]), float(fields[-1])
        row = {"sign": sign, "verify": verify}
    else:
        r = json.loads(rest)[0]
        row = {"sign": r["sign_per_s"], "verify": r["verify_per_s"], "jwt_sign": r["jwt_sign_per_s"], "jwt_verify": r["jwt_verify_per_s"]}
    b = best.setdefault((who, alg), {})
    for k, v in row.items(): b[k] = max(b.get(k, 0), v)
print(f"{'alg':6} {'openssl sign/s':>14} {'lamba sign/s':>12} {'ratio':>6}   {'openssl verify/s':>16} {'lamba verify/s':>14} {'ratio':>6}   {'JWT sign/s':>10} {'JWT verify/s':>12}")
for alg in ["RS256", "PS256", "ES256", "EdDSA"]:
    o, l = best[("openssl", alg)], best[("lamba", alg)]
    print(f"{alg:6} {o['sign']:14.0f} {l['sign']:12.0f} {l['sign']/o['sign']:6.0%}   {o['verify']:16.0f} {l['verify']:14.0f} {l['verify']/o['verify']:6.0%}   {l['jwt_sign']:10.0f} {l['jwt_verify']:12.0f}")
PY
rm -f "$results"
