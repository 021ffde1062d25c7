#!/usr/bin/env bash
# Load, then soak (bench/README.md, "Load and soak"): installs what it needs into .venv, then runs
# bench/soak.py twice, one after the other. Extra arguments go to both runs (e.g. --database, --redis).
set -euo pipefail
cd "$(dirname "$0")/.."
make --quiet install
.venv/bin/python -m bench.soak --users 50 --minutes 10 "$@"
.venv/bin/python -m bench.soak --soak --minutes 30 --rate 20 "$@"
