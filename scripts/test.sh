#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, lint, type-check, then every test
# (the Neo4j tests start a real Neo4j server themselves unless NEO4J_URI is set).
set -euo pipefail
# LightGBM and numpy use OpenMP: let idle threads sleep rather than spin, which matters on
# a busy 2-core runner (one training went from 74 s to 6 s).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the browser test drives Debian's Chromium, with CJK fonts so Chinese renders; it fails
# (never skips) without them, so install them when missing
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    chromium fonts-noto-cjk
fi
if [ -f tools/neo4j/build.sh ]; then
  bash tools/neo4j/build.sh
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# the slowest tests are listed at the end, to keep the run short where it can be
.venv/bin/python -m pytest -p no:cacheprovider --durations=25 "$@"
