#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with cartcode and (with --test) every test need.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -e ".[test,spark,native]"
  # the batch hot path compiled with mypyc (skipped when up to date); the tests run it compiled
  .venv/bin/python scripts/build_native.py --strict
  # Debian's Chromium for the browser test (Playwright's own browser download does not work here).
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
else
  .venv/bin/python -m pip install -q -e ".[native]"
  # compiled is faster; if the build fails cartcode runs from source (same answers)
  .venv/bin/python scripts/build_native.py
fi
