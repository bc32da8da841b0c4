#!/usr/bin/env bash
# Set up and run the main job on the bundled examples: recommend an encounter, check the example claims.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "== cartcode recommend (inpatient Breyanzi, central vein, Medicare, 2025-06-01)"
.venv/bin/cartcode recommend --setting inpatient --date 2025-06-01 --product Breyanzi --route central --payer medicare
echo "== cartcode check examples/claims/*.json"
.venv/bin/cartcode check examples/claims/*.json
status=$?
# check exits 1 when a claim has an error-level finding: the examples are meant to have some.
[ "$status" -le 1 ] || exit "$status"
