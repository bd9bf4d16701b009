"""Time and memory at national scale, projected from measured `run.py` reports.

    python benchmarks/projection.py d/dask_50000_1.json d/dask_200000_2.json ... \\
        --companies 55000000 --workers 64 --worker-memory 16GB --driver-memory 512GB

Every report gives, per stage of ours (ingest, train, rank), the CPU seconds and
peak memory of the stage's own process (the *driver*: it reads the store, fits the
models, scores) and of the processes it started (with `--engine dask`, the workers:
their CPU seconds summed, the largest one's peak). From those points, over sizes and
worker counts, each of four quantities is fitted two ways, by least squares: a power law
a · n^b (on logarithms) and a fixed cost plus a cost per company, c + d · n:

- driver CPU seconds against companies;
- workers' CPU seconds against companies (their sum: spread over W workers);
- driver peak memory against companies;
- one worker's peak memory against companies per worker.

Small sizes, where the interpreter and libraries weigh, bend the power law low; a step
whose work grows faster than the companies bends the affine law low. The two
projections are printed side by side, and a memory is said to fit only if the larger
one does. The projection for N companies on W workers: wall seconds ≈ driver CPU +
workers' CPU / W (no overlap between the two, one core per worker: a bound, not a
promise). A projection 50-1000× beyond the points is an order of magnitude.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

STAGES = ("ingest", "train", "rank")
_UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


@dataclass(frozen=True)
class Point:
    """One end-to-end run: its size, engine and workers, and what each side used."""

    companies: int
    engine: str
    workers: int  # 0: the pandas engine, no workers
    driver_cpu_s: float
    workers_cpu_s: float
    wall_s: float
    driver_peak_mb: float
    worker_peak_mb: float


def points(report: dict[str, Any]) -> list[Point]:
    """The end-to-end points of one `run.py` report (one per size that ran every stage)."""
    engine = report.get("engine") or "pandas"
    workers = int(report.get("dask_workers") or 2) if engine == "dask" else 0
    out = []
    for size in report["sizes"]:
        stages = [size["stages"].get(s) for s in STAGES]
        if any(s is None or "error" in s for s in stages):
            continue
        others = [s.get("others_cpu_seconds", 0.0) for s in stages]
        out.append(
            Point(
                companies=size["companies"],
                engine=engine,
                workers=workers,
                driver_cpu_s=sum(s["cpu_seconds"] for s in stages) - sum(others),
                workers_cpu_s=sum(others) if workers else 0.0,
                wall_s=sum(s["seconds"] for s in stages),
                # reports before the leader was sampled on its own: wait4's peak
                driver_peak_mb=max(
                    s.get("leader_peak_rss_mb", s["own_peak_rss_mb"]) for s in stages
                ),
                worker_peak_mb=max(s.get("largest_other_peak_rss_mb", 0.0) for s in stages),
            )
        )
    return out


def power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(a, b) of y = a · x^b, least squares on logarithms; b = 1 from a single size."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(set(x)) < 2:
        return float(np.exp(ly.mean() - lx.mean())), 1.0
    b, log_a = np.polyfit(lx, ly, 1)
    return float(np.exp(log_a)), float(b)


def affine(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(c, d) of y = c + d · x, least squares; through the origin from a single size."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    if len(set(x)) < 2:
        return 0.0, float(np.mean(ys / xs))
    d, c = np.polyfit(xs, ys, 1)
    return float(c), float(d)


def parse_bytes(text: str) -> float:
    """'16GB' → bytes (dask's notation, powers of 1024 here)."""
    unit = text.strip().upper()[-2:]
    if unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a size such as 16GB or 512MB")
    return float(text.strip()[:-2]) * _UNITS[unit]


#: the quantities projected: (name, what the fit is against)
QUANTITIES = ("driver_cpu_s", "workers_cpu_s", "driver_peak_mb", "worker_peak_mb")


def project(pts: list[Point], companies: int, workers: int) -> dict[str, Any]:
    """The fits over the Dask points and their projection for `companies` on `workers`,
    under each law: a power law (which small sizes, where fixed costs weigh, bend low)
    and a fixed cost plus a cost per company (which a superlinear step would bend high)."""
    dask = [p for p in pts if p.engine == "dask" and p.workers_cpu_s > 0]
    if not dask:
        raise SystemExit("no Dask points: give reports of run.py --engine dask")
    n = [float(p.companies) for p in dask]
    per_worker = [p.companies / p.workers for p in dask]
    data = {
        "driver_cpu_s": (n, [p.driver_cpu_s for p in dask]),
        "workers_cpu_s": (n, [p.workers_cpu_s for p in dask]),
        "driver_peak_mb": (n, [p.driver_peak_mb for p in dask]),
        "worker_peak_mb": (per_worker, [p.worker_peak_mb for p in dask]),
    }
    fits = {k: {"power": power_law(x, y), "affine": affine(x, y)} for k, (x, y) in data.items()}
    at = {"driver_cpu_s": companies, "workers_cpu_s": companies}
    at |= {"driver_peak_mb": companies, "worker_peak_mb": companies / workers}
    laws: dict[str, dict[str, float]] = {}
    for law in ("power", "affine"):
        v = {}
        for k in QUANTITIES:
            a, b = fits[k][law]
            v[k] = a * at[k] ** b if law == "power" else a + b * at[k]
        laws[law] = {
            "driver_cpu_s": v["driver_cpu_s"],
            "workers_cpu_s": v["workers_cpu_s"],
            "wall_s": v["driver_cpu_s"] + v["workers_cpu_s"] / workers,
            "driver_peak_gb": v["driver_peak_mb"] / 1024,
            "worker_peak_gb": v["worker_peak_mb"] / 1024,
        }
    return {"companies": companies, "workers": workers, "fits": fits, "laws": laws}


def render(pts: list[Point], proj: dict[str, Any], worker_mem: float, driver_mem: float) -> str:
    lines = [
        "| engine | workers | companies | wall s | driver CPU s | workers' CPU s "
        "| driver peak MB | largest worker MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in sorted(pts, key=lambda p: (p.engine, p.workers, p.companies)):
        lines.append(
            f"| {p.engine} | {p.workers or '–'} | {p.companies:,} | {p.wall_s:,.0f} | "
            f"{p.driver_cpu_s:,.0f} | {p.workers_cpu_s:,.0f} | {p.driver_peak_mb:,.0f} | "
            f"{p.worker_peak_mb:,.0f} |"
        )
    f = proj["fits"]
    exps = ", ".join(f"{k} ∝ n^{f[k]['power'][1]:.2f}" for k in QUANTITIES)
    lines += [
        "",
        f"Fitted on the Dask points: {exps} (a worker's peak against companies per worker).",
        "",
        f"Projection for {proj['companies']:,} companies on {proj['workers']} workers, "
        "power law | fixed cost plus a cost per company:",
        "",
        "| | power law | fixed + per company |",
        "|---|---:|---:|",
    ]
    p, a = proj["laws"]["power"], proj["laws"]["affine"]
    rows = [
        ("driver CPU h", "driver_cpu_s", 1 / 3600),
        ("workers' CPU h, in all", "workers_cpu_s", 1 / 3600),
        ("wall h (driver + workers / W)", "wall_s", 1 / 3600),
        ("driver peak GB", "driver_peak_gb", 1.0),
        ("one worker's peak GB", "worker_peak_gb", 1.0),
    ]
    lines += [f"| {label} | {p[k] * s:,.1f} | {a[k] * s:,.1f} |" for label, k, s in rows]

    def verdict(key: str, limit: float, who: str) -> str:
        worst = max(p[key], a[key])
        fits = "fits" if worst <= limit / 2**30 else "**does not fit**"
        return f"- {who} against {limit / 2**30:,.0f} GB, the larger projection: {fits}"

    lines += [
        "",
        verdict("driver_peak_gb", driver_mem, "the driver"),
        verdict("worker_peak_gb", worker_mem, "one worker"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="run.py JSON reports")
    parser.add_argument("--companies", type=int, default=55_000_000)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--worker-memory", type=parse_bytes, default="16GB")
    parser.add_argument("--driver-memory", type=parse_bytes, default="512GB")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    pts = []
    for path in args.reports:
        report = json.loads(path.read_text())
        if "sizes" not in report:  # e.g. the scenario summary beside a run's report
            print(f"{path}: not a run.py report, left out")
            continue
        pts += points(report)
    proj = project(pts, args.companies, args.workers)
    print(render(pts, proj, args.worker_memory, args.driver_memory))
    if args.out:
        payload = {"points": [p.__dict__ for p in pts], "projection": proj}
        args.out.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
