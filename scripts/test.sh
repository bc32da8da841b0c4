#!/usr/bin/env bash
# Set up and run the whole test suite: ruff, mypy --strict, pytest (all of it, integration too),
# against the compiled wheel a user gets (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
export SPARK_LOCAL_IP=127.0.0.1
export CARTCODE_EXPECT_COMPILED=1  # tests/integration/test_build.py: fail on a silently pure build
export CARTCODE_REQUIRE_TOOLS=1    # a test that needs Chromium, Java, ... fails rather than skips
.venv/bin/ruff check src tests bench scripts hatch_build.py
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
