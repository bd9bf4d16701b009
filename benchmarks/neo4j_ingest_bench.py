"""Loading Neo4j, and training and ranking on it, against the embedded store.

    python benchmarks/neo4j_ingest_bench.py --companies 200000
    python benchmarks/neo4j_ingest_bench.py --companies 200000 --run 5000 --run 10000 \\
        --run 50000 --run 10000x2 --no-train
    python benchmarks/neo4j_ingest_bench.py --companies 1000000 --no-incremental
    python benchmarks/neo4j_ingest_bench.py --companies 200000 --no-train --reuse-initial
    python benchmarks/neo4j_ingest_bench.py --companies 1000000 --no-train --reuse-initial --warm

`--reuse-initial` keeps the database as the initial load left it under --workdir and
starts later runs from a copy of it (no initial load then); `--server-jvm` passes JVM
options to the server (NEO4J_JVM_OPTS).

Steps:
1. Simulate a world of N companies (Parquet, reused under --workdir) and validate it.
   Split it at --cut (default 2025-06-30): the *initial* batch is every table as known
   then (`known_at`: later rows left out, later end dates blanked, later outcomes
   pending); the *incremental* batch is every row of the whole world that is new or
   different since (new companies and facts, ended links, decided applications).
2. Start a Neo4j server with the tools/neo4j launcher (fresh data directory) and load
   the initial batch into its empty database with the offline importer
   (`NEO4J_IMPORT=offline`): rows/s from the start of writing the import files to the
   constraints being online, with the phases (files, importer with the server restart,
   constraints).
3. Load the incremental batch with UNWIND transactions, for each --run (rows per
   transaction, and tables loaded at once), each from a copy of the data directory as
   the import left it (the server restarted, so its JIT is cold, as after an import):
   rows/s. With --warm, in two halves on the same server, the second one timed on a
   server that has just run the same kinds of writes (a long-running server's case).
   The graph then holds the whole world; its content is checked against the embedded
   store's (the store-independent fingerprint).
4. Unless --no-train (or --no-incremental): train both tiers at --as-of and rank them
   (top 200 and 50) through `discovery.Workspace` on the embedded store and on Neo4j,
   each in a fresh state directory; seconds of each, and whether the lists are identical.

Wall seconds are printed with the CPU seconds of this process (the client) and of the
Neo4j server, and the load average: on a shared machine the CPU seconds are the
steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.contract import TABLES  # noqa: E402
from graph.digest import frame_fingerprint  # noqa: E402
from graph.neo4j_runner import QueryRunner  # noqa: E402
from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.store import Store, known_at  # noqa: E402
from graph.validation import Batch, TableBatch, read_directory  # noqa: E402
from tests.neo4j_server import Neo4jLauncher, Neo4jServer  # noqa: E402

TOPS = {"specialized_sme": 200, "little_giant": 50}


# -- measuring ------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (the Neo4j server's JVM)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    load: float = 0.0

    def text(self) -> str:
        return (
            f"{self.wall:7.1f} s wall, CPU {self.client_cpu:6.1f} s client "
            f"+ {self.server_cpu:6.1f} s server, load {self.load:.1f}"
        )


@contextmanager
def measured(server_pid: int | None) -> Iterator[Timing]:
    timing = Timing()
    t0, c0 = time.perf_counter(), time.process_time()
    s0 = cpu_seconds(server_pid) if server_pid else 0.0
    yield timing
    timing.wall = time.perf_counter() - t0
    timing.client_cpu = time.process_time() - c0
    timing.server_cpu = (cpu_seconds(server_pid) - s0) if server_pid else 0.0
    timing.load = os.getloadavg()[0]


@dataclass
class Phases:
    """Wall seconds between the progress steps of a load."""

    marks: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, step: str, done: int, total: int) -> None:
        name = step.split()[0]
        if not self.marks or self.marks[-1][0] != name:
            self.marks.append((name, time.perf_counter()))

    def seconds(self, end: float) -> dict[str, float]:
        ends = [t for _, t in self.marks[1:]] + [end]
        out: dict[str, float] = {}
        for (name, start), stop in zip(self.marks, ends, strict=True):
            out[name] = round(out.get(name, 0.0) + stop - start, 2)
        return out


# -- the world and its two batches -----------------------------------------------------------
def prepare(companies: int, seed: int, workdir: Path) -> Path:
    from discovery.simulation import simulate

    data = workdir / f"world_{companies}_{seed}"
    if not (data / "companies.parquet").exists():
        started = time.perf_counter()
        simulate(companies, seed, data, None, fmt="parquet")
        print(f"simulated {companies:,} companies in {time.perf_counter() - started:.1f} s")
    return data


def split(batch: Batch, cut: date) -> tuple[Batch, Batch]:
    """(the world as known at `cut`, the rows new or different since)."""
    initial, delta = {}, {}
    for name, tb in batch.tables.items():
        early = known_at(tb.table, tb.frame, cut)
        seen = pd.util.hash_pandas_object(early, index=False).to_numpy()
        hashes = pd.util.hash_pandas_object(tb.frame, index=False).to_numpy()
        later = tb.frame.loc[~np.isin(hashes, seen)].reset_index(drop=True)
        initial[name], delta[name] = _part(tb, early), _part(tb, later)
    return Batch(batch.directory, initial), Batch(batch.directory, delta)


def halves(batch: Batch) -> tuple[Batch, Batch]:
    """Every table's rows at even and at odd positions: two loads of the same kinds of rows."""
    first = {name: _part(tb, tb.frame.iloc[0::2]) for name, tb in batch.tables.items()}
    second = {name: _part(tb, tb.frame.iloc[1::2]) for name, tb in batch.tables.items()}
    return Batch(batch.directory, first), Batch(batch.directory, second)


def _part(tb: TableBatch, frame: pd.DataFrame) -> TableBatch:
    """Some rows of a validated table (still in key order) as a batch of their own."""
    frame = frame.reset_index(drop=True)
    return TableBatch(tb.table, tb.source, frame, len(frame), 0, frame_fingerprint(frame))


def rows_of(batch: Batch) -> int:
    return sum(len(tb.frame) for tb in batch.tables.values())


# -- the server --------------------------------------------------------------------------------
class Server:
    """A launcher-run server whose data directory can be saved and put back between runs."""

    def __init__(self, workdir: Path, env: dict[str, str], data: Path | None = None) -> None:
        self.home = workdir / f"neo4j-{time.time_ns()}"
        if data is not None:
            shutil.copytree(data, self.home / "data")
        self.launcher = Neo4jLauncher(self.home, extra_env=env)
        self.launcher.build()
        self.server: Neo4jServer = self.launcher.start()

    @property
    def pid(self) -> int:
        assert self.launcher.process is not None
        return self.launcher.process.pid

    def store(self, **kw: Any) -> Neo4jStore:
        s = self.server
        runner = QueryRunner(s.uri, s.user, s.password, s.database)
        return Neo4jStore(runner, launcher_home=self.home, **kw)

    def save(self, to: Path | None = None) -> None:
        self.launcher.stop()
        shutil.copytree(self.home / "data", to or self.home.with_name(self.home.name + "-saved"))
        self.server = self.launcher.start()

    def restore(self) -> None:
        self.launcher.stop()
        shutil.rmtree(self.home / "data")
        shutil.copytree(self.home.with_name(self.home.name + "-saved"), self.home / "data")
        self.server = self.launcher.start()

    def remove(self) -> None:
        self.launcher.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.home.with_name(self.home.name + "-saved"), ignore_errors=True)


# -- the three measurements --------------------------------------------------------------------
def initial_load(server: Server, batch: Batch) -> dict[str, Any]:
    store = server.store(import_mode="offline")
    phases = Phases()
    with measured(server.pid) as timing:
        result = store.load(batch, progress=phases)
    end = time.perf_counter()
    rows = rows_of(batch)
    assert result.after == {n: len(batch.tables[n].frame) for n in TABLES}, result.after
    store.close()
    out = {
        "rows": rows,
        "rows_per_s": round(rows / timing.wall),
        "timing": timing.__dict__,
        "phases_s": phases.seconds(end),
    }
    print(f"\ninitial load (offline importer): {rows:,} rows, {timing.text()}")
    print(f"  {rows / timing.wall:,.0f} rows/s; phases (s): {out['phases_s']}")
    return out


def incremental_load(server: Server, batch: Batch, size: int, threads: int) -> dict[str, Any]:
    store = server.store(import_mode="online", batch_size=size, parallel=threads)
    store.ensure_schema()
    per_table: dict[str, list[float]] = {}

    def progress(step: str, done: int, total: int) -> None:
        per_table.setdefault(step.removeprefix("load "), []).append(time.perf_counter())

    with measured(server.pid) as timing:
        result = store.load(batch, progress=progress)
    rows = rows_of(batch)
    assert result.changed
    store.close()
    print(
        f"\nincremental load (UNWIND), batch size {size:,}, {threads} table(s) at once: "
        f"{rows:,} rows, {timing.text()}\n  {rows / timing.wall:,.0f} rows/s"
    )
    for name, marks in per_table.items():
        n = len(batch.tables[name].frame)
        seconds = marks[-1] - marks[0]
        if n:
            print(
                f"  {name:<18}{n:>10,} rows {seconds:7.2f} s {n / max(seconds, 1e-9):>9,.0f} rows/s"
            )
    return {
        "batch_size": size,
        "threads": threads,
        "rows": rows,
        "rows_per_s": round(rows / timing.wall),
        "timing": timing.__dict__,
    }


def train_and_rank(
    kind: str, home: Path, as_of: date, server: Server | None, embedded_root: Path | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Both tiers trained and ranked through a fresh Workspace on one store."""
    import discovery
    from graph.settings import Settings

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if kind == "embedded":
        assert embedded_root is not None
        shutil.copytree(embedded_root, home / "store")
        settings = Settings().model_copy(update={"home": home, "store": "embedded"})
    else:
        assert server is not None
        s = server.server
        update = {
            "home": home,
            "store": "neo4j",
            "neo4j_uri": s.uri,
            "neo4j_user": s.user,
            "neo4j_password": SecretStr(s.password),
            "neo4j_database": s.database,
        }
        settings = Settings().model_copy(update=update)
    pid = server.pid if server else None
    out: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    with discovery.load(home, settings=settings) as ws:
        with measured(pid) as train:
            for tier in TOPS:
                ws.train(tier, as_of, force=True)
        with measured(pid) as rank:
            for tier, top in TOPS.items():
                lists[tier] = [str(c) for c in ws.rank(tier, as_of, top=top).frame["uscc"]]
    out = {"train": train.__dict__, "rank": rank.__dict__}
    print(f"  {kind:<9} train {train.text()}\n  {kind:<9} rank  {rank.text()}")
    return out, lists


# -- the run ---------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cut", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument(
        "--run",
        action="append",
        metavar="SIZE[xTHREADS]",
        help="an incremental load: rows per UNWIND transaction, tables at once (default 10000x1)",
    )
    parser.add_argument("--no-incremental", action="store_true", help="the initial load only")
    parser.add_argument("--no-train", action="store_true", help="no training and ranking")
    parser.add_argument("--heap", default="2g", help="the server's JVM heap (NEO4J_HEAP)")
    parser.add_argument("--pagecache", default="2g", help="the server's page cache")
    parser.add_argument(
        "--server-jvm", default="", help="more JVM options of the server (NEO4J_JVM_OPTS)"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "n4j-bench")
    parser.add_argument(
        "--reuse-initial",
        action="store_true",
        help="keep the database as the initial load left it under --workdir, and start from "
        "that copy instead of loading again when it is there (incremental runs only)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="load each run's rows in two halves on the same server (rows at even, then at "
        "odd positions of every table): the second half is a load on a server whose JIT "
        "has compiled the load's code, as a long-running server's has",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = [] if args.no_incremental else [parse_run(r) for r in args.run or ["10000"]]

    data = prepare(args.companies, args.seed, args.workdir)
    started = time.perf_counter()
    world = read_directory(data)
    initial, delta = split(world, args.cut)
    print(
        f"validated {rows_of(world):,} rows in {time.perf_counter() - started:.1f} s: "
        f"{rows_of(initial):,} known at {args.cut}, {rows_of(delta):,} new or changed since"
    )
    env = {
        "NEO4J_HEAP": args.heap,
        "NEO4J_PAGECACHE": args.pagecache,
        "NEO4J_TX_MAX": "1g",
        "NEO4J_TX_ONE_MAX": "512m",  # room for batches of 50,000 rows
        "NEO4J_JVM_OPTS": args.server_jvm,
    }
    kept = args.workdir / f"initial_{args.companies}_{args.seed}_{args.cut}"
    reuse = args.reuse_initial and (kept / "databases").is_dir()
    server = Server(args.workdir, env, kept if reuse else None)
    results: dict[str, Any] = {"companies": args.companies, "cut": str(args.cut)}
    try:
        if reuse:
            print(f"\ninitial load: reused {kept}")
        else:
            results["initial"] = initial_load(server, initial)
            if args.reuse_initial:
                server.save(kept)
        if len(runs) > 1:
            server.save()
        results["incremental"] = []
        for i, (size, t) in enumerate(runs):
            if i:
                server.restore()
            if args.warm:
                for name, half in zip(("cold half", "warm half"), halves(delta), strict=True):
                    print(f"\n{name}:", end="")
                    result = incremental_load(server, half, size, t)
                    results["incremental"].append({"half": name, **result})
            else:
                results["incremental"].append(incremental_load(server, delta, size, t))
        if runs:
            results |= compare(server, world, args)
    finally:
        server.remove()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def parse_run(text: str) -> tuple[int, int]:
    size, _, threads = text.partition("x")
    return int(size), int(threads or 1)


def compare(server: Server, world: Batch, args: argparse.Namespace) -> dict[str, Any]:
    """The graph against the embedded store, then training and ranking on both."""
    from graph.embedded import EmbeddedStore

    root = args.workdir / f"embedded_{args.companies}_{args.seed}"
    shutil.rmtree(root, ignore_errors=True)
    embedded = EmbeddedStore(root)
    embedded.load(world)
    neo4j = server.store()
    with measured(server.pid) as reading:
        same = neo4j.fingerprint() == Store.fingerprint(embedded)
    print(f"\nNeo4j holds the whole world: {same} (every table read in {reading.text()})")
    neo4j.close()
    out: dict[str, Any] = {"same_content": same, "read_all": reading.__dict__}
    if args.no_train:
        return out
    print(f"\ntrain both tiers and rank them at {args.as_of}:")
    homes = args.workdir / "homes"
    out["embedded"], lists_embedded = train_and_rank(
        "embedded", homes / "embedded", args.as_of, None, root
    )
    out["neo4j"], lists_neo4j = train_and_rank("neo4j", homes / "neo4j", args.as_of, server, None)
    out["lists_identical"] = lists_embedded == lists_neo4j
    ratio = {
        step: out["neo4j"][step]["wall"] / max(out["embedded"][step]["wall"], 1e-9)
        for step in ("train", "rank")
    }
    out["ratio"] = ratio
    print(
        f"  Neo4j / embedded: train {ratio['train']:.2f}x, rank {ratio['rank']:.2f}x; "
        f"lists identical: {out['lists_identical']}"
    )
    shutil.rmtree(homes, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
