"""The peers: the rule baselines, our pipeline on networkx, and featuretools.

rules            `discovery.metrics.rules_score` over the gated candidates, with and
                 without companies known to miss a threshold, and
                 `discovery.metrics.thresholds_rule_score` (the criteria file alone);
networkx         our train + rank with the supply-chain family computed by the networkx
                 reference of `features_bench.py` (swapped in by `features.registry.replaced`);
featuretools     deep feature synthesis + LightGBM with our parameters, in its own venv,
                 on the labels and cutoffs the `export` stage writes: a tuned (deep)
                 set-up and the plain one a user starts with (default primitives).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.child import run_reported
from benchmarks.lists import write_list
from benchmarks.plan import AS_OF, FT_SETUPS, HERE, TOPS
from benchmarks.stages import rank_lists, setup, train_models, world_store

FT_VENV = HERE / "peers" / ".venvs" / "featuretools"
FT_REQUIREMENTS = HERE / "peers" / "requirements-featuretools.txt"
FT_SCRIPT = HERE / "peers" / "featuretools_peer.py"


def networkx_family():
    """The supply-chain family computed by the networkx reference (same columns, same order)."""
    import numpy as np
    import pandas as pd

    from benchmarks.features_bench import networkx_supply_chain
    from features.common import as_float

    def nx_family(ctx) -> pd.DataFrame:
        comp = ctx.companies
        ref = networkx_supply_chain(ctx.store, ctx.as_of).reindex(comp["uscc"].astype("str"))
        links = ctx.table("supply_links")
        active = links.loc[links["end_on"].isna()]
        amount = pd.Series(np.nan_to_num(as_float(active["amount_wan"]), nan=0.0))
        sales = amount.groupby(active["supplier_uscc"].to_numpy()).sum()
        purchases = amount.groupby(active["customer_uscc"].to_numpy()).sum()
        codes = comp["uscc"].astype("str").to_numpy()
        ref["chain_sales_wan"] = sales.reindex(codes, fill_value=0.0).to_numpy()
        ref["chain_purchases_wan"] = purchases.reindex(codes, fill_value=0.0).to_numpy()
        order = [
            "chain_customers",
            "chain_suppliers",
            "chain_leader_customers",
            *[f"chain_{side}_{g}" for g in ctx.node_holds for side in ("customers", "suppliers")],
            "chain_customers_2hop",
            "chain_suppliers_2hop",
            "chain_sales_wan",
            "chain_purchases_wan",
            "chain_pagerank",
        ]
        return ref[order].reset_index(drop=True)

    return nx_family


def _on_networkx(step: Callable[[argparse.Namespace, str], dict], a: argparse.Namespace) -> dict:
    """One of our stages, its lists and models named `networkx`, on the networkx family."""
    from features import registry

    with registry.replaced("supply_chain", networkx_family()):
        return step(a, "networkx")


def stage_nx_train(a: argparse.Namespace) -> dict:
    return _on_networkx(train_models, a)


def stage_nx_rank(a: argparse.Namespace) -> dict:
    return _on_networkx(rank_lists, a)


def candidates(store, snap, tier, criteria):
    """Gated candidates at the decision date, and which are known to miss a threshold."""
    from discovery.labels import gate

    gates = gate(store, tier, AS_OF, criteria)
    eligible = gates.index[gates["eligible"].to_numpy()]
    x = snap.loc[eligible]
    cols = [f"std_{t.id}" for t in criteria.thresholds_for(tier)]
    miss = (x[cols].to_numpy(dtype=float) == 0).any(axis=1)
    return x, miss


def stage_rules(a: argparse.Namespace) -> dict:
    import numpy as np

    from discovery.metrics import rules_score, thresholds_rule_score, top_k_order
    from discovery.model import snapshot
    from features.build import Meter

    world, store, criteria, acc = setup(a)
    steps: dict[str, dict[str, float]] = {}
    meter = Meter(steps)
    with meter("snapshot"):
        snap = snapshot(store, AS_OF, criteria)
    with meter("score"):
        for tier, top in TOPS.items():
            x, miss = candidates(store, snap, tier, criteria)
            order = top_k_order(rules_score(x))
            codes = np.asarray(x.index, dtype=object)
            write_list(world, "rules", tier, [str(c) for c in codes[order][:top]])
            kept = order[~miss[order]]
            write_list(world, "rules_thresholds", tier, [str(c) for c in codes[kept][:top]])
            # the criteria file alone: a visible miss scores -inf and is never listed
            ids = [t.id for t in criteria.thresholds_for(tier)]
            score = thresholds_rule_score(x, ids)
            order = top_k_order(score)
            order = order[np.isfinite(score[order])]
            write_list(world, "thresholds_rule", tier, [str(c) for c in codes[order][:top]])
    meter.finish()
    return {"steps": steps, "feature_seconds": dict(acc)}


def stage_export(a: argparse.Namespace) -> dict:
    """Our labels and cutoffs for the featuretools peer, and the model recipe."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.model import NUM_ROUNDS, PARAMS, snapshot
    from discovery.training import select_rounds

    world = Path(a.world)
    store, criteria = world_store(world), default_criteria()
    parts = []
    for tier in TOPS:
        # the very rounds and examples our training uses
        for rnd, ex in select_rounds(store, tier, AS_OF, criteria):
            parts.append(
                pd.DataFrame(
                    {
                        "uscc": ex.index.astype(str),
                        "tier": tier,
                        "time": pd.Timestamp(rnd.as_of),
                        "label": ex["label"].to_numpy(dtype=float),
                        "weight": ex["weight"].to_numpy(dtype=float),
                        "set": "train",
                        "known_miss": False,
                    }
                )
            )
    snap = snapshot(store, AS_OF, criteria)
    for tier in TOPS:
        x, miss = candidates(store, snap, tier, criteria)
        parts.append(
            pd.DataFrame(
                {
                    "uscc": x.index.astype(str),
                    "tier": tier,
                    "time": pd.Timestamp(AS_OF),
                    "label": float("nan"),
                    "weight": float("nan"),
                    "set": "rank",
                    "known_miss": miss,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["uscc"] = frame["uscc"].astype(object)
    frame.to_parquet(world / "ft_examples.parquet", index=False)
    (world / "ft_params.json").write_text(
        json.dumps({"params": PARAMS, "num_rounds": NUM_ROUNDS, "top": TOPS})
    )
    counts = frame.groupby(["tier", "set"]).size()
    return {"rows": {f"{t}/{s}": int(n) for (t, s), n in counts.items()}}


STAGES = {
    "rules": stage_rules,
    "nx_train": stage_nx_train,
    "nx_rank": stage_nx_rank,
    "export": stage_export,
}


def ensure_ft_venv() -> Path:
    """The featuretools venv's python, (re)made when the pinned requirements changed."""
    python = FT_VENV / "bin" / "python"
    stamp = FT_VENV / "requirements.stamp"
    wanted = FT_REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"creating {FT_VENV} from {FT_REQUIREMENTS.name} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(FT_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(FT_REQUIREMENTS)], check=True
    )
    stamp.write_text(wanted)
    return python


def run_featuretools(world: Path, timeout: float, peer: str = "featuretools") -> dict:
    """A featuretools peer on `world` (after the export stage); its two lists written.

    `peer` names a set-up and depth (`FT_SETUPS`: `featuretools`, the deep set-up;
    `featuretools_plain` and `featuretools_plain1`, the defaults at depth 2 and 1); the
    lists are named `<peer>` and `<peer>_thresholds`.
    """
    python = ensure_ft_venv()
    setup, depth = FT_SETUPS[peer]
    result = world / f"{peer}_result.json"
    cmd = [
        str(python),
        str(FT_SCRIPT),
        "--data",
        str(world / "data"),
        "--examples",
        str(world / "ft_examples.parquet"),
        "--params",
        str(world / "ft_params.json"),
        "--out",
        str(result),
        "--setup",
        setup,
        "--max-depth",
        str(depth),
    ]
    res = run_reported(peer, cmd, world / "logs" / f"{peer}.log", timeout)
    if "error" not in res:
        full = json.loads(result.read_text())
        for tier, lists in full["lists"].items():
            write_list(world, peer, tier, lists["gate"])
            write_list(world, f"{peer}_thresholds", tier, lists["gate_thresholds"])
    return res
