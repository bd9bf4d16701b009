#!/usr/bin/env bash
# The main job on the embedded default: simulate a world, ingest it, show what the store holds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DISCOVERY_HOME=${DISCOVERY_HOME:-.discovery}
COMPANIES=${COMPANIES:-20000}
SEED=${SEED:-7}
WORLD=${WORLD:-$DISCOVERY_HOME/world}
.venv/bin/discovery simulate --companies "$COMPANIES" --seed "$SEED" --out "$WORLD/data" --truth "$WORLD/truth.csv"
.venv/bin/discovery ingest --data "$WORLD/data"
.venv/bin/discovery status
