"""What `run.py` benchmarks: the decision date, list lengths, our stages, the peers, and
which stages each pipeline's time is made of. Shared by the driver and the child stages.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
#: the entry point; every child stage runs as `run.py --stage NAME`
RUN = HERE / "run.py"

AS_OF = date(2025, 12, 31)
TOPS = {"specialized_sme": 200, "little_giant": 50}
DEFAULT_SCENARIO = "file_standard"
OUR_STAGES = ("simulate", "ingest", "features", "train", "rank")
#: the featuretools set-ups (`benchmarks/peers/featuretools_peer.py --setup` and
#: `--max-depth`), by peer: the tuned one, and featuretools' defaults at depth 2 and 1
FT_SETUPS = {
    "featuretools": ("deep", 2),
    "featuretools_plain": ("plain", 2),
    "featuretools_plain1": ("plain", 1),
}
PEERS = ("rules", "networkx", *FT_SETUPS)
#: how each pipeline's time is made up (the stage names of the report)
PIPELINES = {
    "ours": ("ingest", "train", "rank"),
    "rules": ("ingest", "rules"),
    "rules_thresholds": ("ingest", "rules"),
    "thresholds_rule": ("ingest", "rules"),
    "networkx": ("ingest", "nx_train", "nx_rank"),
    **{name: (peer,) for peer in FT_SETUPS for name in (peer, f"{peer}_thresholds")},
}
