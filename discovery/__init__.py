"""Proactive discovery (主动发现) of 专精特新 candidates: the Python API for analysts.

    import discovery
    ws = discovery.load()                       # $DISCOVERY_HOME and the configured store
    ws.simulate(5000, seed=1)                   # or ws.ingest("data/")
    new = ws.train("specialized_sme", "2025-06-30", promote=False)
    cmp = ws.compare("specialized_sme", "2025-06-30", ["serving", new])
    ws.backtest("specialized_sme", "2025-06-30").rounds
    ws.rank("specialized_sme", "2025-06-30", top=50).frame

Names are imported on first use, so `import discovery` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from discovery.evaluation import Backtest, Comparison
    from discovery.ranking import RankedList
    from discovery.registry import PromotionRefused, RegisteredModel
    from discovery.training import NotEnoughEvidence, TrainResult
    from discovery.workspace import Workspace, load
    from graph.errors import DiscoveryError, UsageError

__all__ = [
    "Backtest",
    "Comparison",
    "DiscoveryError",
    "NotEnoughEvidence",
    "PromotionRefused",
    "RankedList",
    "RegisteredModel",
    "TrainResult",
    "UsageError",
    "Workspace",
    "load",
]

_HOMES = {
    "Backtest": "discovery.evaluation",
    "Comparison": "discovery.evaluation",
    "Workspace": "discovery.workspace",
    "load": "discovery.workspace",
    "TrainResult": "discovery.training",
    "NotEnoughEvidence": "discovery.training",
    "RankedList": "discovery.ranking",
    "RegisteredModel": "discovery.registry",
    "PromotionRefused": "discovery.registry",
    "DiscoveryError": "graph.errors",
    "UsageError": "graph.errors",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'discovery' has no attribute '{name}'")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
