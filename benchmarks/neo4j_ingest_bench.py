"""Ingest into Neo4j over Bolt: rows/s and relationships/s per table and in total.

    python benchmarks/neo4j_ingest_bench.py --companies 100000 --batch-size 10000
    python benchmarks/neo4j_ingest_bench.py --companies 20000 --batch-size 2000 --batch-size 10000

Steps: simulate a world of N companies (Parquet, reused under --workdir), validate it,
start a Neo4j server (tools/neo4j launcher on a free port with a fresh data dir, or the
server named by NEO4J_URI: its database is CLEARED), then for each batch size clear the
database, load the world with `Neo4jStore.load`, and time every table from the progress
callbacks. With --reload the same world is loaded a second time (nothing changes; every
row is compared and skipped), which measures the idempotent path.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import neo4j_queries as q  # noqa: E402
from graph.neo4j_runner import QueryRunner, Statement  # noqa: E402
from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.validation import Batch, read_directory  # noqa: E402
from tests.neo4j_server import Neo4jLauncher, Neo4jServer, server_from_environment  # noqa: E402

COUNT_RELATIONSHIPS = "MATCH ()-[r]->() RETURN count(r) AS n"
COUNT_NODES = "MATCH (n) RETURN count(n) AS n"


def prepare(companies: int, seed: int, workdir: Path) -> Path:
    from discovery.simulation import simulate

    data = workdir / f"world_{companies}_{seed}"
    if not (data / "companies.parquet").exists():
        started = time.perf_counter()
        simulate(companies, seed, data, None, fmt="parquet")
        print(f"simulated {companies:,} companies in {time.perf_counter() - started:.1f} s")
    return data


def timed_load(store: Neo4jStore, batch: Batch) -> tuple[float, dict[str, float], bool]:
    """(total seconds, seconds per table, changed) of one load."""
    marks: dict[str, list[float]] = {}

    def progress(step: str, done: int, total: int) -> None:
        marks.setdefault(step.removeprefix("load "), []).append(time.perf_counter())

    started = time.perf_counter()
    result = store.load(batch, progress=progress)
    total = time.perf_counter() - started
    per_table = {name: ts[-1] - ts[0] for name, ts in marks.items()}
    return total, per_table, result.changed


def report(
    title: str, batch: Batch, total: float, per_table: dict[str, float], rels: int, nodes: int
) -> dict:
    print(f"\n{title}")
    print(f"{'table':<18}{'rows':>11}{'seconds':>10}{'rows/s':>11}")
    rows_total = 0
    for name, seconds in per_table.items():
        rows = len(batch.tables[name].frame)
        rows_total += rows
        rate = rows / seconds if seconds > 0 else float("nan")
        print(f"{name:<18}{rows:>11,}{seconds:>10.2f}{rate:>11,.0f}")
    print(f"{'total':<18}{rows_total:>11,}{total:>10.2f}{rows_total / total:>11,.0f}")
    print(
        f"graph: {nodes:,} nodes, {rels:,} relationships -> "
        f"{rels / total:,.0f} relationships/s, {rows_total / total:,.0f} rows/s over Bolt"
    )
    return {
        "rows": rows_total,
        "seconds": round(total, 2),
        "rows_per_s": round(rows_total / total),
        "relationships": rels,
        "relationships_per_s": round(rels / total),
        "per_table_s": {k: round(v, 2) for k, v in per_table.items()},
    }


def run(server: Neo4jServer, batch: Batch, batch_sizes: list[int], reload: bool) -> dict:
    results = {}
    for size in batch_sizes:
        runner = QueryRunner(server.uri, server.user, server.password, server.database)
        store = Neo4jStore(runner, batch_size=size)
        store.clear()
        store.ensure_schema()
        total, per_table, _ = timed_load(store, batch)
        [[rels], [nodes]] = runner.read_many(
            [Statement(COUNT_RELATIONSHIPS), Statement(COUNT_NODES)]
        )
        results[f"load_{size}"] = report(
            f"load, batch size {size:,}", batch, total, per_table, rels["n"], nodes["n"]
        )
        if reload:
            total, per_table, changed = timed_load(store, batch)
            assert not changed, "a reload of the same world must change nothing"
            results[f"reload_{size}"] = report(
                f"reload (no change), batch size {size:,}",
                batch,
                total,
                per_table,
                rels["n"],
                nodes["n"],
            )
        store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-size", type=int, action="append", help="rows per transaction (repeatable)"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "n4j-bench")
    parser.add_argument("--reload", action="store_true", help="also time an idempotent reload")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    batch_sizes = args.batch_size or [10_000]

    data = prepare(args.companies, args.seed, args.workdir)
    started = time.perf_counter()
    batch = read_directory(data)
    rows = sum(len(tb.frame) for tb in batch.tables.values())
    print(f"validated {rows:,} rows in {time.perf_counter() - started:.1f} s")
    assert set(batch.tables) >= {"companies", *q.REL_TABLES}

    server = server_from_environment()
    launcher = None
    if server is None:
        launcher = Neo4jLauncher(args.workdir / f"neo4j-{time.time_ns()}")
        launcher.build()
        server = launcher.start()
    try:
        results = run(server, batch, batch_sizes, args.reload)
    finally:
        if launcher is not None:
            launcher.stop()
            shutil.rmtree(launcher.data_dir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
