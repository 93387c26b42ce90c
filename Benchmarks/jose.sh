#!/usr/bin/env bash
# Sign/verify throughput of LambaJOSE per algorithm beside `openssl speed` for the same primitives,
# measured in the same run on the same machine, one thread each. Usage: Benchmarks/jose.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
swift build -c release --product lamba-jose-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/lamba-jose-bench
openssl_out=$(openssl speed -seconds "$seconds" rsa2048 ecdsap256 ed25519 2>/dev/null)
lamba_out=$("$bin" "$seconds")
python3 - "$openssl_out" "$lamba_out" <<'PY'
import json, re, sys
openssl, lamba = sys.argv[1], json.loads(sys.argv[2])
def rates(pattern):
    m = re.search(pattern + r".*?([\d.]+)\s+([\d.]+)\s*$", openssl, re.M)
    return float(m.group(1)), float(m.group(2))
base = {"RS256": rates(r"^rsa 2048 bits"), "PS256": rates(r"^rsa 2048 bits"),
        "ES256": rates(r"256 bits ecdsa \(nistp256\)"), "EdDSA": rates(r"253 bits EdDSA \(Ed25519\)")}
print(f"{'alg':6} {'openssl sign/s':>14} {'lamba sign/s':>12} {'ratio':>6}   {'openssl verify/s':>16} {'lamba verify/s':>14} {'ratio':>6}   {'JWT sign/s':>10} {'JWT verify/s':>12}")
for row in lamba:
    s, v = base[row["alg"]]
    print(f"{row['alg']:6} {s:14.0f} {row['sign_per_s']:12d} {row['sign_per_s']/s:6.0%}   {v:16.0f} {row['verify_per_s']:14d} {row['verify_per_s']/v:6.0%}   {row['jwt_sign_per_s']:10d} {row['jwt_verify_per_s']:12d}")
PY
