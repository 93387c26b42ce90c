#!/bin/sh
# Storage benchmark: keyed reads and single-row transactional writes on SQLite and on a PostgreSQL
# cluster the benchmark starts itself. LAMBA_BENCH_READS / LAMBA_BENCH_WRITES set the loop sizes.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product lamba-store-bench
exec .build/release/lamba-store-bench
