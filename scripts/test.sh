#!/usr/bin/env bash
# Set up and run the whole test suite: ruff, mypy --strict, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
export SPARK_LOCAL_IP=127.0.0.1
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
