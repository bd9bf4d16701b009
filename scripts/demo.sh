#!/usr/bin/env bash
# The main job on the embedded default: simulate a world, ingest it, train a model per
# tier as of the decision date, and write the ranked invitation lists.
set -euo pipefail
# LightGBM and numpy use OpenMP: let idle threads sleep rather than spin, which matters on
# a busy 2-core runner (one training went from 74 s to 6 s).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DISCOVERY_HOME=${DISCOVERY_HOME:-.discovery}
COMPANIES=${COMPANIES:-20000}
SEED=${SEED:-7}
AS_OF=${AS_OF:-2025-12-31}
WORLD=${WORLD:-$DISCOVERY_HOME/world}
OUT=${OUT:-$DISCOVERY_HOME/lists}
run() { .venv/bin/discovery "$@"; }
run --version
run simulate --companies "$COMPANIES" --seed "$SEED" --out "$WORLD/data" --truth "$WORLD/truth.csv"
run ingest --data "$WORLD/data"
run status
for tier in specialized_sme little_giant; do
  run train --as-of "$AS_OF" --tier "$tier"
done
run rank --as-of "$AS_OF" --tier specialized_sme --top 200 --out "$OUT/specialized_sme.xlsx"
run rank --as-of "$AS_OF" --tier little_giant --top 50 --out "$OUT/little_giant.csv"
