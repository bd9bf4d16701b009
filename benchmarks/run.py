"""End-to-end benchmark of the discovery pipeline, with peers, on simulated worlds.

    python benchmarks/run.py --companies 5000 --out b.json
    python benchmarks/run.py --ladder 10000,100000,1000000 --format parquet --out ladder.json
    python benchmarks/run.py --ladder 5000,10000 --seeds 1,2,3,4,5 --out seeds.json
    python benchmarks/run.py --companies 5000 --scenarios file_standard,looser_review \
        --seeds 1,2 --held-out looser_review --format parquet --out scen.json

Every world is simulated under a scenario of the simulator (`--scenarios`, default
file_standard: the hidden review standard, self-selection, data coverage, label noise
and regional mix); the whole ladder of sizes and seeds runs once per scenario.

For each world size it simulates a world (seeded), then runs in fresh processes, so
each stage's peak RSS is its own (`wait4` rusage of the child):

ours      simulate → ingest (validate + load the embedded store) → features (the
          decision-date snapshot alone, per family) → train (both tiers, as_of
          2025-12-31, up to 5 yearly rounds) → rank (both tiers: top 200 specialized_sme,
          top 50 little_giant). End to end = ingest + train + rank.
peers     rules           `discovery.metrics.rules_score` over the gated candidates;
          rules+thresholds the same, without companies known to miss a threshold;
          thresholds_rule `discovery.metrics.thresholds_rule_score` over the gated
                          candidates (the criteria file alone: visible misses never
                          listed, then thresholds known met, class-I IP, revenue);
          networkx        our pipeline with the supply-chain family computed by the
                          networkx reference (benchmarks/features_bench.py);
          featuretools    deep feature synthesis with one cutoff time per training
                          example + LightGBM with our parameters, in its own venv.

Every list is scored against the world's truth: precision@K = qualifiers among the
listed, recall@K = listed qualifiers over all qualifying candidates; precision over the
listed companies that never applied for the tier; listed companies that are not
candidates; the share of the list that misses a hidden rule. The JSON holds
everything; a Markdown report is written beside it (same name, `.md`). With a ladder,
a peer that took longer than --peer-budget at one size (or is projected to exceed
--peer-timeout at the next) is skipped at larger sizes, and the report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

AS_OF = date(2025, 12, 31)
TOPS = {"specialized_sme": 200, "little_giant": 50}
FT_VENV = HERE / "peers" / ".venvs" / "featuretools"
FT_REQUIREMENTS = HERE / "peers" / "requirements-featuretools.txt"
FT_SCRIPT = HERE / "peers" / "featuretools_peer.py"
DEFAULT_SCENARIO = "file_standard"
#: truth columns a world must have to be reused (older worlds lack the last ones)
TRUTH_NEEDS = ("qualifies_", "candidate_", "applied_", "misses_")
#: extra environment of every child (ours and peers alike), set from the command line
CHILD_ENV: dict[str, str] = {}
OUR_STAGES = ("simulate", "ingest", "features", "train", "rank")
PEERS = ("rules", "networkx", "featuretools")
# how a peer's pipeline time is made up (stage names of this file)
PIPELINES = {
    "ours": ("ingest", "train", "rank"),
    "rules": ("ingest", "rules"),
    "rules_thresholds": ("ingest", "rules"),
    "thresholds_rule": ("ingest", "rules"),
    "networkx": ("ingest", "nx_train", "nx_rank"),
    "featuretools": ("featuretools",),
    "featuretools_thresholds": ("featuretools",),
}


# =========================================================================================
# child stages: each runs in its own process and returns a JSON-able dict
# =========================================================================================
def _meter(sink: dict):
    from features.build import Meter

    return Meter(sink)


def _store(world: Path):
    from graph.embedded import EmbeddedStore

    return EmbeddedStore(world / "store")


def _write_list(world: Path, name: str, tier: str, codes: list[str]) -> None:
    out = world / "lists"
    out.mkdir(exist_ok=True)
    (out / f"{name}.{tier}.txt").write_text("\n".join(codes) + ("\n" if codes else ""))


def _networkx_family():
    """The supply-chain family computed by the networkx reference (same columns, same order)."""
    import numpy as np
    import pandas as pd
    from features_bench import networkx_supply_chain

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


def _timed(module: Any, attr: str, acc: dict[str, float], key: str) -> None:
    """Accumulate the seconds spent in `module.attr` into `acc[key]`."""
    original = getattr(module, attr)

    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            acc[key] += time.perf_counter() - t0

    setattr(module, attr, wrapper)


def _time_feature_builds(acc: dict[str, float]) -> None:
    """Where train and rank spend their time: per feature family (summed over snapshot
    dates), the quality-score estimate of each snapshot, LightGBM fits, reasons."""
    import discovery.model as dm
    import discovery.ranking as dr
    import discovery.training as dt

    original = dm.build_features

    def timed(store, as_of, thresholds=(), **kw):
        t: dict[str, dict[str, float]] = {}
        frame = original(store, as_of, thresholds, timings=t, **kw)
        for name, row in t.items():
            acc[name] += row["seconds"]
        acc["snapshots"] += 1
        return frame

    dm.build_features = timed
    _timed(dm, "estimate_quality", acc, "quality_estimate")
    _timed(dt, "fit_booster", acc, "lightgbm_fit")
    _timed(dr, "explain_reasons", acc, "reasons")


def stage_simulate(a: argparse.Namespace) -> dict:
    from discovery.simulation import simulate

    world = Path(a.world)
    shutil.rmtree(world / "data", ignore_errors=True)
    summary = simulate(
        a.companies,
        a.seed,
        world / "data",
        world / "truth.csv",
        end=AS_OF,
        fmt=a.format,
        scenario=a.world_scenario,
    )
    return {
        "scenario": summary.scenario,
        "rows": summary.rows,
        "candidates": summary.candidates,
        "qualifiers": summary.qualifiers,
        "holders": summary.holders,
    }


def stage_ingest(a: argparse.Namespace) -> dict:
    from graph.loading import write_rejects
    from graph.validation import read_directory

    world = Path(a.world)
    shutil.rmtree(world / "store", ignore_errors=True)
    steps: dict[str, dict[str, float]] = {}
    meter = _meter(steps)
    with meter("validate"):
        batch = read_directory(world / "data")
        write_rejects(batch.rejects, world / "rejects.csv")
    with meter("load"):
        result = _store(world).load(batch)
    meter.finish()
    return {
        "steps": steps,
        "rejected": len(batch.rejects),
        "rows": result.after,
        "workers": batch.workers,
    }


def stage_features(a: argparse.Namespace) -> dict:
    from discovery.criteria import default_criteria
    from discovery.model import threshold_specs
    from features import build_features

    store = _store(Path(a.world))
    timings: dict[str, dict[str, float]] = {}
    frame = build_features(store, AS_OF, threshold_specs(default_criteria()), timings=timings)
    return {"families": timings, "rows": len(frame), "columns": frame.shape[1] - 1}


def _setup(a: argparse.Namespace) -> tuple[Path, Any, Any, dict]:
    """A stage's world, store and criteria, with feature builds timed into the returned dict."""
    from discovery.criteria import default_criteria

    acc: dict[str, float] = defaultdict(float)
    _time_feature_builds(acc)
    world = Path(a.world)
    return world, _store(world), default_criteria(), acc


def _train(a: argparse.Namespace, variant: str) -> dict:
    from discovery.registry import Registry
    from discovery.training import NotEnoughEvidence, SnapshotCache, train_tier

    world, store, criteria, acc = _setup(a)
    models = world / f"models_{variant}"
    shutil.rmtree(models, ignore_errors=True)
    registry = Registry(models)
    snapshots = SnapshotCache(store, criteria)
    out: dict[str, Any] = {"tiers": {}}
    for tier in TOPS:
        t0 = time.perf_counter()
        try:
            res = train_tier(
                store, tier, AS_OF, criteria, registry, snapshots=snapshots, force=True
            )
            m = res.card["metrics"]
            out["tiers"][tier] = {
                "seconds": time.perf_counter() - t0,
                "validation_auc": m["model"]["auc_direct_evidence"],
                "validation_round": res.card["validation_round"]["as_of"],
                "promoted": res.promoted,
            }
        except NotEnoughEvidence as exc:
            out["tiers"][tier] = {"seconds": time.perf_counter() - t0, "error": str(exc)}
    out["feature_seconds"] = dict(acc)
    return out


def _rank(a: argparse.Namespace, variant: str) -> dict:
    from discovery.model import snapshot
    from discovery.ranking import rank
    from discovery.registry import Registry

    world, store, criteria, acc = _setup(a)
    registry = Registry(world / f"models_{variant}")
    steps: dict[str, dict[str, float]] = {}
    meter = _meter(steps)
    with meter("snapshot"):
        snap = snapshot(store, AS_OF, criteria)
    out: dict[str, Any] = {"tiers": {}}
    for tier, top in TOPS.items():
        if registry.serving(tier) is None:
            out["tiers"][tier] = {"error": "no model (training had too little evidence)"}
            _write_list(world, variant, tier, [])
            continue
        with meter(f"rank_{tier}"):
            ranked = rank(store, tier, AS_OF, registry, criteria, top=top, features=snap)
        _write_list(world, variant, tier, [str(c) for c in ranked.frame["uscc"]])
        out["tiers"][tier] = {
            "candidates": ranked.summary["candidates"],
            "known_to_miss_a_threshold": ranked.summary["known_to_miss_a_threshold"],
            "listed": ranked.summary["listed"],
        }
    meter.finish()
    out["steps"] = steps
    out["feature_seconds"] = dict(acc)
    return out


def stage_train(a):
    return _train(a, "ours")


def stage_rank(a):
    return _rank(a, "ours")


def stage_nx_train(a):
    from features import registry

    with registry.replaced("supply_chain", _networkx_family()):
        return _train(a, "networkx")


def stage_nx_rank(a):
    from features import registry

    with registry.replaced("supply_chain", _networkx_family()):
        return _rank(a, "networkx")


def _candidates(store, snap, tier, criteria):
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

    world, store, criteria, acc = _setup(a)
    steps: dict[str, dict[str, float]] = {}
    meter = _meter(steps)
    with meter("snapshot"):
        snap = snapshot(store, AS_OF, criteria)
    with meter("score"):
        for tier, top in TOPS.items():
            x, miss = _candidates(store, snap, tier, criteria)
            order = top_k_order(rules_score(x))
            codes = np.asarray(x.index, dtype=object)
            _write_list(world, "rules", tier, [str(c) for c in codes[order][:top]])
            kept = order[~miss[order]]
            _write_list(world, "rules_thresholds", tier, [str(c) for c in codes[kept][:top]])
            # the criteria file alone: a visible miss scores -inf and is never listed
            ids = [t.id for t in criteria.thresholds_for(tier)]
            score = thresholds_rule_score(x, ids)
            order = top_k_order(score)
            order = order[np.isfinite(score[order])]
            _write_list(world, "thresholds_rule", tier, [str(c) for c in codes[order][:top]])
    meter.finish()
    return {"steps": steps, "feature_seconds": dict(acc)}


def stage_export(a: argparse.Namespace) -> dict:
    """Our labels and cutoffs for the featuretools peer, and the model recipe."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.model import NUM_ROUNDS, PARAMS, snapshot
    from discovery.training import select_rounds

    world = Path(a.world)
    store, criteria = _store(world), default_criteria()
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
        x, miss = _candidates(store, snap, tier, criteria)
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
    "simulate": stage_simulate,
    "ingest": stage_ingest,
    "features": stage_features,
    "train": stage_train,
    "rank": stage_rank,
    "rules": stage_rules,
    "nx_train": stage_nx_train,
    "nx_rank": stage_nx_rank,
    "export": stage_export,
}


# =========================================================================================
# the driver
# =========================================================================================
class _GroupMemory:
    """Samples the summed resident memory of every process in a process group."""

    def __init__(self, pgid: int, interval: float = 0.1) -> None:
        self.pgid = pgid
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._done.wait(interval):
            total = 0
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/stat", "rb") as fh:
                        fields = fh.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.pgid:  # pgrp; fields[21] is rss in pages
                    total += int(fields[21]) * page
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_child(cmd: list[str], log: Path, timeout: float | None) -> dict:
    """Run `cmd`; wall seconds, peak memory, and the JSON of its last line.

    Peak memory is the larger of the child's own peak RSS (wait4) and the peak of the
    summed RSS of its whole process group, sampled every 0.1 s, so worker processes
    the child starts (validation runs in two) are counted too.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path = log.with_suffix(".out")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}", **CHILD_ENV}
    with open(out_path, "w") as out, open(log, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, cwd=ROOT, env=env, start_new_session=True
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own process group only

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        group = _GroupMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        group.stop()
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
    res: dict[str, Any] = {
        "seconds": wall,
        "peak_rss_mb": max(usage.ru_maxrss / 1024, group.peak_mb),
        "own_peak_rss_mb": usage.ru_maxrss / 1024,
        "group_peak_rss_mb": group.peak_mb,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_average_1min_after": os.getloadavg()[0],
    }
    if killed.is_set():
        res["error"] = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        res["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
    else:
        lines = out_path.read_text().strip().splitlines()
        res["result"] = json.loads(lines[-1]) if lines else {}
    return res


def ensure_ft_venv() -> Path:
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


def _flag(truth: Any, column: str, codes: list[str]) -> Any:
    """A boolean truth column for `codes` (missing codes and values read false)."""
    return truth[column].eq(True).reindex(codes, fill_value=False).to_numpy(dtype=bool)


def score_lists(world: Path, names: list[str]) -> dict[str, dict]:
    """Every pipeline's lists against the world's truth, per tier.

    precision / recall@K from `qualifies_<tier>`; when the truth has them (worlds of the
    scenario simulator): precision over the listed companies that never applied for the
    tier (`applied_<tier>` false), listed companies that are not candidates
    (`candidate_<tier>` false: they hold the tier, are barred, off the ladder or
    large), and listed companies whose `misses_<tier>` names a hidden rule they miss.
    """
    import pandas as pd

    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str})
    truth = truth.set_index("uscc")
    out: dict[str, dict] = {}
    for name in names:
        row: dict[str, Any] = {}
        for tier, k in TOPS.items():
            path = world / "lists" / f"{name}.{tier}.txt"
            if not path.exists():
                continue
            codes = [c for c in path.read_text().split("\n") if c]
            total = int(truth[f"qualifies_{tier}"].eq(True).sum())
            qual = _flag(truth, f"qualifies_{tier}", codes)
            hits = int(qual.sum())
            q: dict[str, Any] = {
                "k": k,
                "listed": len(codes),
                "hits": hits,
                "qualifying": total,
                "precision": hits / len(codes) if codes else None,
                "recall": hits / total if total else None,
            }
            if f"applied_{tier}" in truth:
                fresh = ~_flag(truth, f"applied_{tier}", codes)
                n_fresh, fresh_hits = int(fresh.sum()), int((qual & fresh).sum())
                q["non_applicants_listed"] = n_fresh
                q["non_applicant_hits"] = fresh_hits
                q["non_applicant_precision"] = fresh_hits / n_fresh if n_fresh else None
            if f"candidate_{tier}" in truth:
                q["listed_not_candidates"] = int((~_flag(truth, f"candidate_{tier}", codes)).sum())
            if f"misses_{tier}" in truth:
                misses = truth[f"misses_{tier}"].fillna("").astype(str).str.len() > 0
                missed = int(misses.reindex(codes, fill_value=False).to_numpy(dtype=bool).sum())
                q["listed_with_hidden_miss"] = missed
                q["hidden_miss_share"] = missed / len(codes) if codes else None
            row[tier] = q
        out[name] = row
    return out


def _reusable(world: Path) -> bool:
    """A simulated world is there, and its truth has every column the scoring reads."""
    truth = world / "truth.csv"
    if not (truth.exists() and (world / "data").exists()):
        return False
    with open(truth, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    return all(f"{col}{tier}" in header for col in TRUTH_NEEDS for tier in TOPS)


class Ladder:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.report: dict[str, Any] = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "memory_gb": round(
                    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
                ),
                "python": platform.python_version(),
                "load_average_at_start": os.getloadavg(),
            },
            "as_of": AS_OF.isoformat(),
            "tops": TOPS,
            "scenario": args.scenario,
            "seed": args.seed,
            "format": args.format,
            "omp_wait_policy": args.omp_wait_policy,
            "peer_budget_s": args.peer_budget,
            "peer_timeout_s": args.peer_timeout,
            "sizes": [],
        }
        self.last: dict[str, tuple[int, float]] = {}  # peer -> (size, seconds) last run
        self.stopped: dict[str, str] = {}

    # -- one child ---------------------------------------------------------------------
    def stage(self, name: str, world: Path, n: int, timeout: float | None = None) -> dict:
        a = self.args
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--stage",
            name,
            "--world",
            str(world),
            "--companies",
            str(n),
            "--seed",
            str(a.seed),
            "--format",
            a.format,
            "--world-scenario",
            a.scenario,
        ]
        print(f"  {name:<12}", end="", flush=True)
        res = run_child(cmd, world / "logs" / f"{name}.log", timeout)
        note = f"  ERROR {res['error']}" if "error" in res else ""
        print(f"{res['seconds']:8.1f} s {res['peak_rss_mb']:8.0f} MB{note}", flush=True)
        return res

    def skip_reason(self, peer: str, n: int) -> str | None:
        if peer in self.stopped:
            return self.stopped[peer]
        if peer not in self.last:
            return None
        size, secs = self.last[peer]
        if secs > self.args.peer_budget:
            return (
                f"took {secs:.0f} s at {size:,} companies (> budget {self.args.peer_budget:.0f} s)"
            )
        projected = secs * n / size
        if projected > self.args.peer_timeout:
            return (
                f"projected {projected:.0f} s at {n:,} (linear from {secs:.0f} s at {size:,}) "
                f"> timeout {self.args.peer_timeout:.0f} s"
            )
        return None

    # -- one size ----------------------------------------------------------------------
    def run_size(self, n: int) -> dict:
        a = self.args
        world = a.workdir / f"world_{a.scenario}_{n}_{a.seed}_{a.format}"
        world.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(world / "lists", ignore_errors=True)
        print(
            f"== {a.scenario}: {n:,} companies (seed {a.seed}, {a.format}) in {world}", flush=True
        )
        size: dict[str, Any] = {
            "companies": n,
            "scenario": a.scenario,
            "world": str(world),
            "stages": {},
            "peers": {},
        }
        st = size["stages"]
        truth_ok = _reusable(world)
        if a.reuse_worlds and truth_ok:
            print("  simulate    reused", flush=True)
            st["simulate"] = {"reused": True}
        else:
            st["simulate"] = self.stage("simulate", world, n)
        for name in ("ingest", "features", "train", "rank"):
            st[name] = self.stage(name, world, n)
            if "error" in st[name] and name in ("ingest",):
                return size
        e2e = [st[s] for s in PIPELINES["ours"]]
        size["end_to_end"] = {
            "stages": list(PIPELINES["ours"]),
            "seconds": sum(s["seconds"] for s in e2e),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in e2e),
        }
        peers = size["peers"]
        wanted = [p for p in PEERS if p not in a.skip_peers]
        for peer in wanted:
            why = self.skip_reason(peer, n)
            if why:
                peers[peer] = {"skipped": why}
                print(f"  {peer:<12}skipped: {why}", flush=True)
                continue
            timeout = a.peer_timeout
            if peer == "rules":
                peers[peer] = {"rules": self.stage("rules", world, n, timeout)}
                took = peers[peer]["rules"]["seconds"]
            elif peer == "networkx":
                tr = self.stage("nx_train", world, n, timeout)
                rk = self.stage("nx_rank", world, n, timeout) if "error" not in tr else None
                peers[peer] = {"nx_train": tr, "nx_rank": rk or {"skipped": "training failed"}}
                took = tr["seconds"] + (rk["seconds"] if rk else 0)
                if "error" in tr or (rk and "error" in rk):
                    self.stopped[peer] = (
                        f"failed at {n:,}: {(tr if 'error' in tr else rk)['error']}"
                    )
            else:
                peers[peer] = self.run_featuretools(world, n)
                took = peers[peer].get("featuretools", {}).get("seconds", 0.0)
                err = peers[peer].get("featuretools", {}).get("error")
                if err:
                    self.stopped[peer] = f"failed at {n:,}: {err}"
            self.last[peer] = (n, took)
        rules = ("rules", "rules_thresholds", "thresholds_rule")
        names = ["ours", *[p for p in rules if "rules" in peers]]
        if "networkx" in peers and "skipped" not in peers["networkx"]:
            names.append("networkx")
        if "featuretools" in peers and "skipped" not in peers["featuretools"]:
            names += ["featuretools", "featuretools_thresholds"]
        size["quality"] = score_lists(world, names)
        size["pipelines"] = self.pipelines(size)
        return size

    def run_featuretools(self, world: Path, n: int) -> dict:
        out: dict[str, Any] = {"export": self.stage("export", world, n)}
        if "error" in out["export"]:
            return out
        python = ensure_ft_venv()
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
            str(world / "ft_result.json"),
        ]
        print(f"  {'featuretools':<12}", end="", flush=True)
        res = run_child(cmd, world / "logs" / "featuretools.log", self.args.peer_timeout)
        note = f"  ERROR {res['error']}" if "error" in res else ""
        print(f"{res['seconds']:8.1f} s {res['peak_rss_mb']:8.0f} MB{note}", flush=True)
        if "error" not in res:
            full = json.loads((world / "ft_result.json").read_text())
            for tier, lists in full["lists"].items():
                _write_list(world, "featuretools", tier, lists["gate"])
                _write_list(world, "featuretools_thresholds", tier, lists["gate_thresholds"])
        out["featuretools"] = res
        return out

    def pipelines(self, size: dict) -> dict[str, dict]:
        """Per pipeline: seconds and peak over the stages it needs, and its precision/recall."""
        flat: dict[str, dict] = dict(size["stages"])
        for peer in size["peers"].values():
            flat.update({k: v for k, v in peer.items() if isinstance(v, dict)})
        out = {}
        for name, quality in size["quality"].items():
            parts = [flat.get(s) for s in PIPELINES[name]]
            if any(p is None or "seconds" not in p for p in parts):
                continue
            out[name] = {
                "stages": list(PIPELINES[name]),
                "seconds": sum(p["seconds"] for p in parts),
                "peak_rss_mb": max(p["peak_rss_mb"] for p in parts),
                **{tier: quality.get(tier) for tier in TOPS},
            }
        return out

    def run(self, sizes: list[int]) -> None:
        for n in sizes:
            self.report["sizes"].append(self.run_size(n))
            self.save()
        self.report["peers_stopped"] = self.stopped
        self.save()

    def save(self) -> None:
        out = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.report, indent=2))
        out.with_suffix(".md").write_text(markdown(self.report))


# =========================================================================================
# the Markdown report
# =========================================================================================
def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _cells(s: dict) -> str:
    """seconds | CPU s | peak MB | load average after the stage."""
    return (
        f"{_f(s.get('seconds'))} | {_f(s.get('cpu_seconds'))} | {_f(s.get('peak_rss_mb'), 0)} | "
        f"{_f(s.get('load_average_1min_after'))}"
    )


def _pr(q: dict | None) -> str:
    if not q or q.get("precision") is None:
        return "–"
    return f"{q['precision']:.3f} / {_f(q['recall'], 3)} ({q['hits']}/{q['listed']})"


def _stage_note(name: str, s: dict) -> str:
    r = s.get("result", {})
    if "error" in s:
        return "ERROR " + s["error"]
    if name == "simulate" and s.get("reused"):
        return "reused"
    if name == "ingest":
        steps = r.get("steps", {})
        return (
            f"validate, sort and fingerprint {_f(steps.get('validate', {}).get('seconds'))} s "
            f"({r.get('workers', 1)} process(es)), write {_f(steps.get('load', {}).get('seconds'))} s, "
            f"rejected {r.get('rejected')}"
        )
    if name == "features":
        fam = r.get("families", {})
        top = sorted(
            ((k, v["seconds"]) for k, v in fam.items() if k != "total"), key=lambda kv: -kv[1]
        )[:4]
        return f"{r.get('rows', 0):,} × {r.get('columns')}; " + ", ".join(
            f"{k} {v:.1f}" for k, v in top
        )
    if name in ("train", "nx_train", "rank", "nx_rank"):
        fs = r.get("feature_seconds", {})
        snaps = int(fs.get("snapshots", 0))
        feat = fs.get("total", 0.0)
        chain = fs.get("supply_chain", 0.0)
        overlap = (
            " (beside the next date's features)" if name.endswith("train") and snaps > 1 else ""
        )
        bits = [
            f"{snaps} snapshot(s): features {feat:.1f} s (supply chain {chain:.1f} s), "
            f"quality estimate {fs.get('quality_estimate', 0.0):.1f} s{overlap}"
        ]
        if fs.get("lightgbm_fit"):
            bits.append(f"LightGBM fits {fs['lightgbm_fit']:.1f} s")
        if fs.get("reasons"):
            bits.append(f"reasons {fs['reasons']:.1f} s")
        if name.endswith("train"):
            for tier, t in r.get("tiers", {}).items():
                auc = t.get("validation_auc")
                bits.append(f"{tier} {t['seconds']:.1f} s" + (f" AUC {auc:.3f}" if auc else ""))
        return "; ".join(bits)
    if name == "rules":
        fs = r.get("feature_seconds", {})
        return (
            f"snapshot: features {fs.get('total', 0.0):.1f} s, "
            f"quality estimate {fs.get('quality_estimate', 0.0):.1f} s"
        )
    return ""


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Discovery benchmark",
        "",
        f"{report['created']} · {m['cpus']} CPUs, {m['memory_gb']} GB · Python {m['python']} · "
        f"load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])} · "
        f"as_of {report['as_of']} · scenario {report.get('scenario', DEFAULT_SCENARIO)} · "
        f"seed {report['seed']} · {report['format']} · "
        f"OMP_WAIT_POLICY {report.get('omp_wait_policy', 'default')}",
        "",
        "Seconds are wall time; peak MB is the peak resident memory of the stage: its own "
        "process (`wait4` rusage) or, when larger, the sampled sum over its process group "
        "(worker processes included). Other work on the machine makes timings noisy. Precision / recall "
        "are against the world's truth (`qualifies_<tier>`), shown as `P / R (hits/listed)`.",
        "",
    ]
    for size in report["sizes"]:
        n = size["companies"]
        lines += [
            f"## {n:,} companies",
            "",
            "| stage | seconds | CPU s | peak MB | load | notes |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, s in size["stages"].items():
            lines.append(f"| {name} | {_cells(s)} | {_stage_note(name, s)} |")
        if "end_to_end" in size:
            e = size["end_to_end"]
            lines.append(
                f"| **end to end** ({' + '.join(e['stages'])}) | **{_f(e['seconds'])}** | "
                f"| **{_f(e['peak_rss_mb'], 0)}** | | data directory → ranked lists |"
            )
        lines += [
            "",
            "| peer stage | seconds | CPU s | peak MB | load | notes |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for peer, parts in size["peers"].items():
            if "skipped" in parts:
                lines.append(f"| {peer} | – | – | – | – | skipped: {parts['skipped']} |")
                continue
            for name, s in parts.items():
                note = _stage_note(name, s)
                if name == "featuretools" and "result" in s:
                    r = s["result"]
                    note = (
                        f"{r['features']} features × {r['instances']:,} (company, cutoff) rows; "
                        + ", ".join(f"{k} {v['seconds']:.1f}" for k, v in r["phases"].items())
                    )
                if name == "export":
                    note = "our labels/cutoffs + candidates for featuretools (not in its time)"
                lines.append(f"| {peer}: {name} | {_cells(s)} | {note} |")
        lines += [
            "",
            "| pipeline | seconds | peak MB | specialized_sme top 200 P / R | "
            "little_giant top 50 P / R | made of |",
            "|---|---:|---:|---|---|---|",
        ]
        for name, p in size.get("pipelines", {}).items():
            lines.append(
                f"| {name} | {_f(p['seconds'])} | {_f(p['peak_rss_mb'], 0)} | "
                f"{_pr(p.get('specialized_sme'))} | {_pr(p.get('little_giant'))} | "
                f"{' + '.join(p['stages'])} |"
            )
        lines += quality_table(size.get("quality") or {})
        sim = size["stages"].get("simulate", {}).get("result")
        if sim:
            lines += [
                "",
                "World: "
                + ", ".join(f"{k} {v:,}" for k, v in sim["rows"].items())
                + "; candidates "
                + ", ".join(f"{k} {v:,}" for k, v in sim["candidates"].items())
                + "; qualifying "
                + ", ".join(f"{k} {v:,}" for k, v in sim["qualifiers"].items()),
            ]
        lines.append("")
    if len(report["sizes"]) > 1:
        lines += ladder_table(report)
    if report.get("peers_stopped"):
        lines += ["## Where peers stopped", ""]
        lines += [f"- {p}: {why}" for p, why in report["peers_stopped"].items()]
        lines.append("")
    return "\n".join(lines)


def _ratio(hits: int | None, listed: int | None) -> str:
    if hits is None or listed is None:
        return "–"
    return f"{hits / listed:.3f} ({hits}/{listed})" if listed else f"– (0/{listed})"


def quality_table(quality: dict) -> list[str]:
    """Per pipeline and tier: precision, precision over non-applicants, non-candidates
    listed, and the share of the list that misses a hidden rule."""
    if not quality:
        return []
    lines = [
        "",
        "| pipeline | tier | precision (hits/listed) | non-applicants: precision (hits/listed) "
        "| listed not candidates | listed with a hidden miss |",
        "|---|---|---|---|---:|---|",
    ]
    for name, by_tier in quality.items():
        for tier in TOPS:
            q = by_tier.get(tier)
            if not q:
                continue
            missed = q.get("listed_with_hidden_miss")
            lines.append(
                f"| {name} | {tier} | {_ratio(q['hits'], q['listed'])} | "
                f"{_ratio(q.get('non_applicant_hits'), q.get('non_applicants_listed'))} | "
                f"{q.get('listed_not_candidates', '–')} | "
                + ("–" if missed is None else _ratio(missed, q["listed"]))
                + " |"
            )
    return lines


def ladder_table(report: dict) -> list[str]:
    head = ["companies", *OUR_STAGES, "end to end", "e2e peak MB"]
    names = ["rules", "networkx", "featuretools"]
    head += [f"{p} s / MB" for p in names]
    lines = ["## Ladder", "", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for size in report["sizes"]:
        st = size["stages"]
        row = [f"{size['companies']:,}"]
        row += [
            "reused" if st.get(s, {}).get("reused") else _f(st.get(s, {}).get("seconds"))
            for s in OUR_STAGES
        ]
        e = size.get("end_to_end", {})
        row += [_f(e.get("seconds")), _f(e.get("peak_rss_mb"), 0)]
        pipes = size.get("pipelines", {})
        for p in names:
            if p in pipes:
                row.append(f"{_f(pipes[p]['seconds'])} / {_f(pipes[p]['peak_rss_mb'], 0)}")
            else:
                row.append("skipped" if "skipped" in size["peers"].get(p, {}) else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Precision@K (specialized_sme top 200 · little_giant top 50):",
        "",
        "| companies | " + " | ".join(PIPELINES) + " |",
        "|---:|" + "---|" * len(PIPELINES),
    ]
    for size in report["sizes"]:
        q = size.get("quality", {})
        cells = []
        for name in PIPELINES:
            if name not in q:
                cells.append("–")
                continue
            ps = [q[name].get(t, {}).get("precision") for t in TOPS]
            cells.append(" · ".join(_f(x, 3) for x in ps))
        lines.append(f"| {size['companies']:,} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--ladder", help="comma-separated sizes, e.g. 10000,100000,1000000")
    parser.add_argument("--out", type=Path, default=Path("benchmark.json"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--seeds",
        help="comma-separated seeds, e.g. 1,2,3: one run per seed (OUT_seed<S>.json and .md), "
        "then precision across seeds in OUT_seeds.md (benchmarks/seeds.py)",
    )
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/discovery_bench"))
    parser.add_argument("--reuse-worlds", action="store_true", help="skip simulate if present")
    parser.add_argument(
        "--scenarios",
        help="comma-separated simulator scenarios (discovery.simulation.load_scenarios), e.g. "
        "file_standard,looser_review: the whole ladder (sizes × seeds) per scenario, reports "
        f"OUT_<scenario>[_seed<S>].json; the summary is OUT_scenarios.md/.json "
        f"(default: {DEFAULT_SCENARIO} alone, reports named as without scenarios)",
    )
    parser.add_argument(
        "--held-out",
        default="",
        help="comma-separated scenarios held out from tuning; only labels the summary rows "
        "(the others read 'used for tuning')",
    )
    parser.add_argument(
        "--skip-peers",
        default=None,
        help=f"comma-separated, from {', '.join(PEERS)} (default: none; networkx with --scenarios)",
    )
    parser.add_argument("--peer-budget", type=float, default=600.0)
    parser.add_argument("--peer-timeout", type=float, default=1800.0)
    parser.add_argument(
        "--omp-wait-policy",
        choices=["default", "passive"],
        default="default",
        help="OMP_WAIT_POLICY for every child; passive stops LightGBM's OpenMP threads "
        "spin-waiting, which costs ~8x on a machine busier than its cores",
    )
    parser.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    parser.add_argument("--world-scenario", default=DEFAULT_SCENARIO, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage:  # a child: one stage, its result as JSON on the last line
        print(json.dumps(STAGES[args.stage](args), default=str))
        return
    explicit = args.scenarios is not None
    scenarios = [x for x in (args.scenarios or DEFAULT_SCENARIO).split(",") if x]
    if explicit:
        from discovery.simulation import load_scenarios

        unknown = sorted(set(scenarios) - set(load_scenarios()))
        if unknown:
            parser.error(f"unknown scenario(s) {', '.join(unknown)}; see scenarios.yaml")
    skip = args.skip_peers if args.skip_peers is not None else ("networkx" if explicit else "")
    args.skip_peers = {p for p in skip.split(",") if p}
    if args.omp_wait_policy == "passive":
        CHILD_ENV["OMP_WAIT_POLICY"] = "PASSIVE"
    sizes = (
        [int(s.replace("_", "")) for s in args.ladder.split(",")]
        if args.ladder
        else [args.companies]
    )
    held_out = [x for x in args.held_out.split(",") if x]
    run_all(args, sizes, scenarios, explicit, held_out)


def run_all(
    args: argparse.Namespace,
    sizes: list[int],
    scenarios: list[str],
    explicit: bool,
    held_out: list[str],
) -> list[dict]:
    """The ladder once per scenario and seed; per-scenario seed tables; the scenario summary.

    Reports are `OUT[_<scenario>][_seed<S>].json` and `.md` (the scenario in the name
    when --scenarios was given, the seed when --seeds was); with --seeds, precision
    across seeds goes to `OUT[_<scenario>]_seeds.md`; `OUT_scenarios.md` and `.json`
    are rewritten after every run, so a long run leaves partial results.
    """
    from benchmarks.scenarios import write as write_scenarios
    from benchmarks.seeds import markdown as seeds_markdown

    base = args.out
    seeds = [int(x) for x in args.seeds.split(",") if x] if args.seeds else [args.seed]
    everything: list[dict] = []
    for scenario in scenarios:
        stem = base.stem + (f"_{scenario}" if explicit else "")
        reports = []
        for seed in seeds:
            name = stem + (f"_seed{seed}" if args.seeds else "")
            args.seed, args.scenario = seed, scenario
            args.out = base.with_name(f"{name}{base.suffix or '.json'}")
            ladder = Ladder(args)
            ladder.run(sizes)
            reports.append(ladder.report)
            everything.append(ladder.report)
            print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
            write_scenarios(everything, held_out, base)
        if args.seeds:
            summary = base.with_name(f"{stem}_seeds.md")
            summary.write_text(seeds_markdown(reports), encoding="utf-8")
            print(f"wrote {summary}")
    md, js = write_scenarios(everything, held_out, base)
    print(f"wrote {md} and {js}")
    args.out = base
    return everything


if __name__ == "__main__":
    main()
