#!/usr/bin/env bash
# Events written per second (one outbox transaction each, SQLite) and webhook deliveries per second
# (one dispatcher, signed POSTs to a local receiver on 127.0.0.1 answering 204).
# Usage: Benchmarks/events.sh [events] [endpoints]   (CONFIG=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-release}
swift build -c "$config" --product lamba-events-bench >/dev/null
"$(swift build -c "$config" --show-bin-path)/lamba-events-bench" "${1:-5000}" "${2:-2}"
