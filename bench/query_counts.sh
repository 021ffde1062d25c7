#!/usr/bin/env bash
# SQL statements per page, with little and with much more data, as a table for the benchmark report:
# the same measurement tests/perf/test_query_counts.py asserts on, written to a file (default
# bench/out/query-counts.txt; set TEST_DATABASE_URL to measure on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
make --quiet install
out="${1:-bench/out/query-counts.txt}"
mkdir -p "$(dirname "$out")"
QUERY_COUNTS_FILE="$out" .venv/bin/pytest -q -p no:cacheprovider tests/perf/test_query_counts.py
echo "Written: $out"
