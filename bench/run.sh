#!/usr/bin/env bash
# Every benchmark in one command: bench/run.sh [options of bench/run.py]
# Makes the project's venv if missing, and bench/.venv (load generator, pygeoapi,
# py-spy) from bench/requirements.txt when that file is newer than the venv.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || make install
if [ ! -f bench/.venv/.installed ] || [ bench/requirements.txt -nt bench/.venv/.installed ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet --upgrade pip
    bench/.venv/bin/pip install --quiet -r bench/requirements.txt
    touch bench/.venv/.installed
fi
exec .venv/bin/python bench/run.py "$@"
