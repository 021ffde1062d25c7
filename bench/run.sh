#!/usr/bin/env bash
# The benchmark in one command (bench/README.md): installs what it needs into .venv, then runs
# bench/run.py with the arguments given (default: the large data set, 8 clients, one instance).
set -euo pipefail
cd "$(dirname "$0")/.."
make --quiet install
exec .venv/bin/python -m bench.run "$@"
