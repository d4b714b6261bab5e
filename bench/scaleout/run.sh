#!/usr/bin/env bash
# The scale-out benchmark in one command: bench/scaleout/run.sh [--seconds N]
# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as `make test`).
set -euo pipefail
cd "$(dirname "$0")/../.."

[ -x .venv/bin/python ] || make install
if [ ! -f bench/.venv/.installed ] || [ bench/requirements.txt -nt bench/.venv/.installed ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet -r bench/requirements.txt
    touch bench/.venv/.installed
fi
exec .venv/bin/python bench/scaleout/run.py "$@"
