#!/usr/bin/env bash
# Faults Lamba must survive, one line per fault and store (Benchmarks/README.md#faults):
# kill -9 during refresh rotations, PostgreSQL stopped and restarted under load, SQLite on a full
# disk, webhook receivers down, and a mixed soak with RSS sampled. Loopback only; every wait bounded.
#
# Usage: Benchmarks/faults.sh [--fault NAME]... [--store sqlite|postgres|all]
#   FAULTS_QUICK=1   the short CI mode (a few minutes in all); the full mode soaks for 10 minutes
#   LAMBA_BIN=PATH   the lamba binary (default .build/debug/lamba, built when missing)
#   FAULTS_KEEP=1    keep the scratch directory (server logs, databases)
# Needs root for the full-disk fault (it mounts a 32 MiB tmpfs, else a loop-mounted ext4 image) and
# PostgreSQL's server binaries for the PostgreSQL faults. Exits nonzero when any fault failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
if [ -d /opt/swift/usr/bin ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
lamba="${LAMBA_BIN:-$root/.build/debug/lamba}"
if [[ ! -x "$lamba" ]]; then
  echo "faults: building $lamba (swift build --product lamba)" >&2
  (cd "$root" && swift build --product lamba >&2)
fi
case "$lamba" in /*) ;; *) lamba="$PWD/$lamba" ;; esac
conformance="$root/Conformance"
venv_label=faults
source "$conformance/common/venv.sh"
ensure_venv
cd "$here/Faults"
exec "$py" faults.py --lamba "$lamba" "$@"
