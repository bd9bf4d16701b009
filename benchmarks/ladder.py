"""The driver of one benchmark run: a ladder of world sizes, each stage a child process.

`Ladder(args).run(sizes)` simulates (or reuses) a world per size, runs our stages and
the peers, scores every list against the truth and rewrites the JSON and Markdown
report after every size, so a long ladder leaves partial results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.child import CHILD_ENV, run_reported
from benchmarks.lists import reusable, score_lists
from benchmarks.peers import run_featuretools
from benchmarks.plan import AS_OF, FT_SETUPS, PEERS, PIPELINES, RUN, TOPS
from benchmarks.report import markdown


def _setting(name: str, default: str | None) -> str | None:
    return CHILD_ENV.get(name, os.environ.get(name, default))


class Ladder:
    """One scenario and seed: every size in turn, ours then the peers, into one report.

    A peer that took longer than --peer-budget at one size, or is projected to exceed
    --peer-timeout at the next, is skipped at larger sizes; the report says why.
    """

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
            "patent_rows_per_company": getattr(args, "patent_rows", None),
            "omp_wait_policy": args.omp_wait_policy,
            # where features were built: the children's settings, else the environment's
            "engine": _setting("DISCOVERY_ENGINE", "pandas"),
            "dask_workers": _setting("DISCOVERY_DASK_WORKERS", None),
            "dask_memory_limit": _setting("DISCOVERY_DASK_MEMORY_LIMIT", None),
            "peer_budget_s": args.peer_budget,
            "peer_timeout_s": args.peer_timeout,
            "sizes": [],
        }
        self.last: dict[str, tuple[int, float]] = {}  # peer -> (size, seconds) last run
        self.stopped: dict[str, str] = {}
        self.exported: Path | None = None  # the world whose export stage has run
        self.export: dict = {}

    # -- one child ---------------------------------------------------------------------
    def stage(self, name: str, world: Path, n: int, timeout: float | None = None) -> dict:
        a = self.args
        cmd = [
            sys.executable,
            str(RUN),
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
        if getattr(a, "patent_rows", None):
            cmd += ["--patent-rows", str(a.patent_rows)]
        return run_reported(name, cmd, world / "logs" / f"{name}.log", timeout)

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
        dense = f"_p{a.patent_rows:g}" if getattr(a, "patent_rows", None) else ""
        world = a.workdir / f"world_{a.scenario}_{n}_{a.seed}_{a.format}{dense}"
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
        truth_ok = reusable(world)
        if a.reuse_worlds and truth_ok:
            print("  simulate    reused", flush=True)
            st["simulate"] = {"reused": True}
        else:
            st["simulate"] = self.stage("simulate", world, n)
        for name in ("ingest", "features", "train", "rank"):
            if name == "features" and getattr(a, "no_features_stage", False):
                # the per-family timing of one snapshot: not part of end to end
                print("  features    skipped", flush=True)
                st[name] = {"skipped": "--no-features-stage"}
                continue
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
            peers[peer], took = self.run_peer(peer, world, n)
            self.last[peer] = (n, took)
        rules = ("rules", "rules_thresholds", "thresholds_rule")
        names = ["ours", *[p for p in rules if "rules" in peers]]
        if "networkx" in peers and "skipped" not in peers["networkx"]:
            names.append("networkx")
        for ft in FT_SETUPS:
            if ft in peers and "skipped" not in peers[ft]:
                names += [ft, f"{ft}_thresholds"]
        size["quality"] = score_lists(world, names)
        for tier, ranked in st["rank"].get("result", {}).get("tiers", {}).items():
            if "expected_hits" in ranked and tier in size["quality"]["ours"]:
                size["quality"]["ours"][tier]["expected_hits"] = ranked["expected_hits"]
        size["pipelines"] = self.pipelines(size)
        return size

    def run_peer(self, peer: str, world: Path, n: int) -> tuple[dict, float]:
        """One peer's stages on `world`: their results, and the seconds the peer took.
        A peer that fails is stopped for the larger sizes."""
        timeout = self.args.peer_timeout
        if peer == "rules":
            rules = self.stage("rules", world, n, timeout)
            return {"rules": rules}, rules["seconds"]
        if peer == "networkx":
            tr = self.stage("nx_train", world, n, timeout)
            rk = self.stage("nx_rank", world, n, timeout) if "error" not in tr else None
            if "error" in tr or (rk and "error" in rk):
                self.stopped[peer] = f"failed at {n:,}: {(tr if 'error' in tr else rk)['error']}"
            took = tr["seconds"] + (rk["seconds"] if rk else 0)
            return {"nx_train": tr, "nx_rank": rk or {"skipped": "training failed"}}, took
        # the featuretools set-ups read the one export of our labels and cutoffs
        if self.exported != world:
            self.export = self.stage("export", world, n)
            self.exported = world
        out: dict[str, Any] = {"export": self.export}
        if "error" in out["export"]:
            return out, 0.0
        out[peer] = ft = run_featuretools(world, timeout, peer)
        if "error" in ft:
            self.stopped[peer] = f"failed at {n:,}: {ft['error']}"
        return out, ft["seconds"]

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
