#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with cartcode installed from its wheel, which the
# build backend compiles with mypyc (hatch_build.py); with --test, every test need as well.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "${1:-}" = "--test" ]; then
  # CI tests the compiled wheel a user gets: a failed compile fails the setup instead of
  # silently testing a pure-Python build.
  rm -rf build/wheel
  CARTCODE_BUILD_STRICT=1 .venv/bin/python -m pip wheel -q --no-deps -w build/wheel . >/dev/null
  WHEEL=$(ls build/wheel/cartcode-*.whl)
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$WHEEL" >/dev/null
  .venv/bin/python -m pip install -q "$WHEEL[test,spark]" >/dev/null
  # Debian's Chromium for the browser tests (Playwright's own browser download does not work here)
  # and a Java runtime for PySpark's local mode, when the machine has none.
  PKGS=""
  command -v chromium >/dev/null 2>&1 || PKGS="$PKGS chromium"
  command -v java >/dev/null 2>&1 || PKGS="$PKGS openjdk-17-jre-headless"
  if [ -n "$PKGS" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
  fi
else
  # compiled where there is a C compiler; a pure-Python install otherwise (same answers, slower)
  rm -rf build/wheel
  .venv/bin/python -m pip wheel -q --no-deps -w build/wheel . >/dev/null
  WHEEL=$(ls build/wheel/cartcode-*.whl)
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$WHEEL" >/dev/null
  .venv/bin/python -m pip install -q "$WHEEL" >/dev/null
fi
.venv/bin/cartcode --version
