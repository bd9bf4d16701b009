"""A bounded load test of the HTTP service on loopback: ranked-list pulls from concurrent clients.

    .venv/bin/python benchmarks/api_load.py [--requests 2000] [--clients 8] [--home DIR]

Without `--home` it simulates, ingests and trains a world first (`--companies`,
`--seed`). The service runs in its own process (`uvicorn api.main:create_app
--factory` on 127.0.0.1, a free port, one worker); `--clients` threads, each with
its own httpx client, pull pages of the list as an official of the busiest city
and as an admin, at one decision date (after one warm-up pull that ranks). It
stops at `--requests` or `--max-seconds`, whichever comes first, and prints
requests/s and latency percentiles (also as JSON with `--json`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np

AS_OF = date(2025, 12, 31)


def build_world(base: Path, companies: int, seed: int) -> Path:
    from discovery.criteria import default_criteria
    from discovery.registry import Registry
    from discovery.simulation import simulate
    from discovery.training import SnapshotCache, train_tier
    from graph.embedded import EmbeddedStore
    from graph.loading import ingest

    home = base / "home"
    simulate(companies, seed, base / "data", end=AS_OF)
    store = EmbeddedStore(home / "store")
    ingest(base / "data", store, home / "rejects.csv")
    registry, criteria = Registry(home / "models"), default_criteria()
    snapshots = SnapshotCache(store, criteria)
    for tier in ("specialized_sme", "little_giant"):
        train_tier(store, tier, AS_OF, criteria, registry, snapshots=snapshots)
    return home


def busiest_city(home: Path) -> str:
    from graph.embedded import EmbeddedStore

    regions = EmbeddedStore(home / "store").read("companies", AS_OF)["region_code"]
    return str(regions.str.slice(0, 4).value_counts().index[0])


def make_keys(home: Path, city: str) -> dict[str, str]:
    from discovery.records import create_key, open_records
    from graph.settings import Settings

    records = open_records(Settings(home=home))
    with records.session() as session:
        keys = {
            "official": create_key(session, "official", [city], "load test").secret,
            "admin": create_key(session, "admin", None, "load test").secret,
        }
    records.close()
    return keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISCOVERY_HOME": str(home),
        "DISCOVERY_STORE": "embedded",
        # the bucket would otherwise (rightly) refuse a load test
        "DISCOVERY_RATE_PER_SECOND": "100000",
        "DISCOVERY_RATE_BURST": "100000",
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log"]
    return subprocess.Popen(command, env=env)


def wait_ready(url: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service at {url} did not become ready")


def run(url: str, keys: dict[str, str], requests: int, clients: int, max_s: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    issued = iter(range(requests))
    stop_at = time.monotonic() + max_s

    def worker(n: int) -> None:
        role = "official" if n % 2 == 0 else "admin"
        headers = {"Authorization": f"Bearer {keys[role]}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(issued, None)
                if i is None:
                    return
                params = {
                    "tier": "specialized_sme" if i % 4 else "little_giant",
                    "as_of": AS_OF.isoformat(),
                    "limit": 50,
                    "offset": (i * 50) % 200,
                    "min_score": (i % 5) / 10,
                }
                start = time.perf_counter()
                answer = client.get("/v1/invitations", params=params)
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--home", type=Path, help="a trained state directory to serve")
    parser.add_argument("--companies", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="api-load-") as tmp:
        home = args.home
        if home is None:
            print(f"building a world of {args.companies:,} companies …", file=sys.stderr)
            home = build_world(Path(tmp), args.companies, args.seed)
        keys = make_keys(home, busiest_city(home))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        service = start_service(home, port)
        try:
            wait_ready(url)
            warm = time.perf_counter()
            for tier in ("specialized_sme", "little_giant"):
                httpx.get(
                    f"{url}/v1/invitations",
                    params={"tier": tier, "as_of": AS_OF.isoformat()},
                    headers={"Authorization": f"Bearer {keys['admin']}"},
                    timeout=600,
                ).raise_for_status()
            warm_s = time.perf_counter() - warm
            result = run(url, keys, args.requests, args.clients, args.max_seconds)
        finally:
            service.terminate()
            service.wait(timeout=30)
    result["warm_up_ranking_seconds"] = round(warm_s, 2)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['requests']:,} list pulls, {result['clients']} clients, {result['seconds']} s: "
        f"{result['requests_per_second']} requests/s; latency p50 {result['p50_ms']} ms, "
        f"p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms; "
        f"statuses {result['statuses']}; warm-up ranking {result['warm_up_ranking_seconds']} s"
    )


if __name__ == "__main__":
    main()
