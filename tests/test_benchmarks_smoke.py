"""benchmarks/run.py and its modules: the scoring of lists against the truth, the child
runner, the driver's command line, the report.

The benchmark itself is not a test (it takes minutes); these check its plumbing only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import child, densify, ladder, lists, peers, plan
from benchmarks.report import _stage_note, markdown

ROOT = Path(__file__).resolve().parents[1]


def _load():
    """`benchmarks/run.py` as `python benchmarks/run.py` runs it (a script, not a module)."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lists_are_scored_against_the_truth(tmp_path):
    (tmp_path / "truth.csv").write_text(
        "uscc,qualifies_specialized_sme,qualifies_little_giant\n"
        "A,true,false\nB,false,false\nC,true,true\nD,true,false\n"
    )
    lists.write_list(tmp_path, "ours", "specialized_sme", ["C", "B"])
    lists.write_list(tmp_path, "ours", "little_giant", [])
    got = lists.score_lists(tmp_path, ["ours"])["ours"]
    spec = got["specialized_sme"]
    assert (spec["hits"], spec["listed"], spec["qualifying"]) == (1, 2, 3)
    assert spec["precision"] == 0.5 and abs(spec["recall"] - 1 / 3) < 1e-12
    assert got["little_giant"]["precision"] is None


def test_lists_are_scored_on_non_applicants_candidates_and_hidden_misses(tmp_path):
    tier_cols = ["qualifies", "candidate", "applied", "misses"]
    head = ["uscc"] + [f"{c}_{t}" for c in tier_cols for t in plan.TOPS]
    rows = [
        # uscc: qualifies, candidate, applied, misses (specialized_sme, little_giant)
        ["A", "true", "false", "true", "false", "false", "false", "", "quality>=60"],
        ["B", "false", "false", "true", "false", "false", "false", "rd_1y>=100", "x"],
        ["C", "true", "false", "true", "false", "true", "false", "", "x"],
        ["D", "false", "false", "false", "false", "false", "false", "", "x"],
    ]
    (tmp_path / "truth.csv").write_text(
        "\n".join(",".join(r) for r in [head, *rows]) + "\n", encoding="utf-8"
    )
    lists.write_list(tmp_path, "ours", "specialized_sme", ["A", "B", "C", "D"])
    spec = lists.score_lists(tmp_path, ["ours"])["ours"]["specialized_sme"]
    assert (spec["hits"], spec["listed"]) == (2, 4)
    # C applied: the non-applicants are A, B and D, of which A qualifies
    assert (spec["non_applicant_hits"], spec["non_applicants_listed"]) == (1, 3)
    assert spec["listed_not_candidates"] == 1  # D
    assert spec["listed_with_hidden_miss"] == 1 and spec["hidden_miss_share"] == 0.25  # B


def test_scenario_world_and_child_command(tmp_path, monkeypatch):
    seen = []

    def fake_child(cmd, log, timeout):
        seen.append(cmd)
        return {"seconds": 0.0, "peak_rss_mb": 0.0, "error": "not run"}

    monkeypatch.setattr(child, "run_child", fake_child)
    args = argparse.Namespace(
        seed=3,
        scenario="looser_review",
        format="parquet",
        workdir=tmp_path,
        reuse_worlds=False,
        skip_peers=set(),
        omp_wait_policy="default",
        peer_budget=1.0,
        peer_timeout=1.0,
    )
    size = ladder.Ladder(args).run_size(100)
    assert Path(size["world"]).name == "world_looser_review_100_3_parquet"
    simulate = seen[0]
    assert simulate[simulate.index("--stage") + 1] == "simulate"
    assert simulate[simulate.index("--world-scenario") + 1] == "looser_review"
    assert simulate[1] == str(ROOT / "benchmarks" / "run.py")
    assert "thresholds_rule" in plan.PIPELINES


def test_scenario_summary_rows_and_verdict():
    spec = importlib.util.spec_from_file_location(
        "bench_scenarios", ROOT / "benchmarks" / "scenarios.py"
    )
    scenarios = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scenarios)

    def q(hits, listed, **extra):
        return {"hits": hits, "listed": listed, **extra}

    def report(scenario, ours_lg, thr_lg):
        ours_spec = q(120, 200, non_applicant_hits=90, non_applicants_listed=150)
        ours_spec["listed_not_candidates"] = 0
        ours_spec["expected_hits"] = 112.46
        return {
            "scenario": scenario,
            "seed": 1,
            "sizes": [
                {
                    "companies": 5000,
                    "quality": {
                        "ours": {"specialized_sme": ours_spec, "little_giant": q(*ours_lg)},
                        "rules": {"specialized_sme": q(80, 200), "little_giant": q(10, 50)},
                        "thresholds_rule": {
                            "specialized_sme": q(60, 100),
                            "little_giant": q(*thr_lg),
                        },
                        "featuretools": {"specialized_sme": q(100, 200)},
                    },
                }
            ],
        }

    reports = [
        report("file_standard", (20, 40), (10, 20)),  # level with thresholds_rule: yes
        report("looser_review", (20, 40), (11, 20)),  # behind thresholds_rule: no
    ]
    got = scenarios.rows(reports)
    assert len(got) == 4
    first = got[0]
    assert (first["scenario"], first["tier"], first["verdict"]) == (
        "file_standard",
        "specialized_sme",
        "yes",
    )
    assert first["ours_non_applicants"]["precision"] == 0.6
    assert [r["verdict"] for r in got] == ["yes", "yes", "yes", "no"]
    # featuretools made no little-giant list: the verdict says it was left out
    assert got[1]["verdict_without"] == ["featuretools"]
    text = scenarios.markdown(reports, ["looser_review"])
    assert "- `file_standard`: used for tuning" in text
    assert "- `looser_review`: held out" in text
    row = (
        "| file_standard | 5,000 | 1 | specialized_sme top 200 | 0.600 (120/200) | 112.5 | "
        "0.400 (80/200) | 0.600 (60/100) | 0.500 (100/200) | 0.600 (90/150) | 0 | yes |"
    )
    assert row in text
    assert got[0]["ours_expected_hits"] == 112.46 and got[1]["ours_expected_hits"] is None
    assert "yes (without featuretools)" in text
    assert "- `looser_review` (held out) · little_giant: 0 of 1" in text
    # where the deep set-up did not run, the plain one stands for featuretools, named
    plain = report("regional_skew", (30, 40), (10, 20))
    quality = plain["sizes"][0]["quality"]
    quality["featuretools_plain1"] = {"specialized_sme": q(130, 200), "little_giant": q(9, 50)}
    del quality["featuretools"]
    sme, lg = scenarios.rows([plain])
    assert sme["featuretools_setup"] == lg["featuretools_setup"] == "featuretools_plain1"
    # ahead of the rules but behind featuretools' plain list (130 > 120 of 200): no
    assert (sme["verdict"], sme["verdict_without"]) == ("no", [])
    assert (lg["verdict"], lg["verdict_without"]) == ("yes", [])
    text = scenarios.markdown([plain], [])
    assert "| 0.650 (130/200) · plain, depth 1 |" in text


def test_child_reports_time_memory_and_its_json(tmp_path):
    code = "import json; x = bytearray(60 * 2**20); print('noise'); print(json.dumps({'ok': 1}))"
    res = child.run_child([sys.executable, "-c", code], tmp_path / "c.log", timeout=60)
    assert res["result"] == {"ok": 1}
    assert res["peak_rss_mb"] > 60 and res["seconds"] > 0
    bad = child.run_child([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "b.log", 60)
    assert bad["error"].startswith("exit 3")


def test_child_reports_the_processes_it_starts_on_their_own(tmp_path):
    # the child holds 30 MB and starts a process (as a Dask worker is) that holds 150 MB
    # and burns CPU for a while: its peak and CPU are reported apart from the child's
    worker = (
        "import time; x = bytearray(150 * 2**20); t = time.process_time()\n"
        "while time.process_time() - t < 1.0: pass\n"
        "time.sleep(0.5)"
    )
    code = (
        "import json, subprocess, sys; y = bytearray(30 * 2**20); "
        f"subprocess.run([sys.executable, '-c', {worker!r}], check=True); "
        "print(json.dumps({'ok': 1}))"
    )
    res = child.run_child([sys.executable, "-c", code], tmp_path / "w.log", timeout=60)
    assert res["result"] == {"ok": 1}
    assert res["other_processes"] == 1
    assert 150 < res["largest_other_peak_rss_mb"] < 400
    assert 30 < res["leader_peak_rss_mb"] < res["largest_other_peak_rss_mb"]
    assert 0.8 <= res["others_cpu_seconds"] <= res["cpu_seconds"]
    note = _stage_note("train", res)
    assert "1 other process(es), the largest" in note
    assert _stage_note("features", {"skipped": "--no-features-stage"}) == (
        "skipped (--no-features-stage)"
    )


def test_markdown_names_stages_and_pipelines():
    stage = {"seconds": 1.0, "cpu_seconds": 0.9, "peak_rss_mb": 100.0, "result": {}}
    quality = {"k": 200, "listed": 200, "hits": 50, "qualifying": 100, "precision": 0.25}
    quality["recall"] = 0.5
    report = {
        "created": "now",
        "machine": {
            "cpus": 2,
            "memory_gb": 24,
            "python": "3.11",
            "load_average_at_start": [1, 1, 1],
        },
        "as_of": "2025-12-31",
        "seed": 1,
        "format": "csv",
        "sizes": [
            {
                "companies": 100,
                "stages": {s: dict(stage) for s in plan.OUR_STAGES},
                "end_to_end": {"stages": ["ingest"], "seconds": 3.0, "peak_rss_mb": 100.0},
                "peers": {"featuretools": {"skipped": "too slow"}},
                "quality": {"ours": {"specialized_sme": {**quality, "expected_hits": 61.25}}},
                "pipelines": {
                    "ours": {
                        "stages": ["ingest"],
                        "seconds": 3.0,
                        "peak_rss_mb": 100.0,
                        "specialized_sme": quality,
                        "little_giant": None,
                    }
                },
            }
        ],
    }
    text = markdown(json.loads(json.dumps(report)))
    expected = "| ours | specialized_sme | 0.250 (50/200) | 61.2 |"  # the list's own forecast
    for word in (
        *plan.OUR_STAGES,
        "end to end",
        "skipped: too slow",
        "0.250 / 0.500 (50/200)",
        expected,
    ):
        assert word in text


def test_command_line_and_child_stages():
    run = _load()
    options = {o for a in run.build_parser()._actions for o in a.option_strings}
    assert options == {
        "-h",
        "--help",
        "--companies",
        "--ladder",
        "--out",
        "--seed",
        "--seeds",
        "--format",
        "--patent-rows",
        "--workdir",
        "--reuse-worlds",
        "--scenarios",
        "--held-out",
        "--skip-peers",
        "--peer-budget",
        "--peer-timeout",
        "--omp-wait-policy",
        "--engine",
        "--workers",
        "--memory-limit",
        "--no-features-stage",
        "--stage",
        "--world",
        "--world-scenario",
    }
    assert list(run.STAGES) == [
        *plan.OUR_STAGES,
        "rules",
        "nx_train",
        "nx_rank",
        "export",
    ]


def test_seed_summary_compares_precision_world_by_world():
    spec = importlib.util.spec_from_file_location("bench_seeds", ROOT / "benchmarks" / "seeds.py")
    seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seeds)

    def report(seed, ours, ft):
        q = lambda hits, listed: {"hits": hits, "listed": listed}  # noqa: E731
        return {
            "seed": seed,
            "sizes": [
                {
                    "companies": 5000,
                    "quality": {
                        "ours": {"specialized_sme": q(*ours), "little_giant": q(10, 20)},
                        "featuretools": {"specialized_sme": q(*ft), "little_giant": q(12, 50)},
                    },
                }
            ],
        }

    text = seeds.markdown(
        [
            report(1, (110, 200), (100, 200)),
            report(2, (90, 200), (95, 200)),
            report(3, (5, 10), (100, 200)),
        ]
    )
    spec_part = text.split("## 5,000 companies · specialized_sme")[1].split("##")[0]
    assert "| 1 | 110/200 | 100/200 |" in spec_part
    # seed 3: 5 of 10 is level with 100 of 200 in precision, although it has fewer hits
    assert "| ours ahead / level / behind | – | 1 / 1 / 1 |" in spec_part
    assert f"| **mean precision** | {(0.55 + 0.45 + 0.5) / 3:.3f} | 0.492 |" in spec_part
    lg_part = text.split("little_giant top 50")[1]
    # a peer that did not run on every seed: its mean says over how many
    skipped = report(2, (90, 200), (95, 200))
    del skipped["sizes"][0]["quality"]["featuretools"]
    partial = seeds.markdown([report(1, (110, 200), (100, 200)), skipped])
    assert "| 2 | 90/200 | – |" in partial
    assert "| **mean precision** | 0.500 | 0.500 (1 of 2 seeds) |" in partial
    # 10 of 20 beats 12 of 50 on every seed
    assert "| ours ahead / level / behind | – | 3 / 0 / 0 |" in lg_part


def test_densified_patents_are_class_two_rights_that_validate(tmp_path):
    import numpy as np

    from discovery.simulation import simulate
    from graph.validation import read_directory

    data = tmp_path / "data"
    simulate(300, 4, data, tmp_path / "truth.csv", fmt="parquet")
    before = read_directory(data).tables["patents"].frame
    got = densify.densify_patents(data, 15, np.datetime64("2025-12-31"), seed=4)
    batch = read_directory(data)
    after = batch.tables["patents"].frame
    assert got == {"before": len(before), "after": 15 * 300} and len(after) == 15 * 300
    assert len(batch.rejects) == 0
    added = after.loc[~after["ip_id"].isin(before["ip_id"])]
    assert len(added) == 15 * 300 - len(before)
    assert set(added["ip_type"]) <= {"utility_model", "design", "software_copyright"}
    assert (added["filed_on"] <= "2025-12-31").all()
    # the world's own rights are untouched
    kept = after.loc[after["ip_id"].isin(before["ip_id"])].reset_index(drop=True)
    assert kept.equals(before.reset_index(drop=True))
    assert densify.reads_class_two("regional_skew") and not densify.reads_class_two("file_standard")


def test_each_featuretools_set_up_runs_at_its_depth_with_its_own_lists(tmp_path, monkeypatch):
    calls = []

    def fake_run(label, cmd, log, timeout):
        calls.append((label, cmd))
        out = Path(cmd[cmd.index("--out") + 1])
        lists_ = {t: {"gate": [f"{label}-a"], "gate_thresholds": []} for t in plan.TOPS}
        out.write_text(json.dumps({"lists": lists_}))
        return {"seconds": 1.0, "peak_rss_mb": 1.0}

    monkeypatch.setattr(peers, "ensure_ft_venv", lambda: Path(sys.executable))
    monkeypatch.setattr(peers, "run_reported", fake_run)
    for peer in plan.FT_SETUPS:
        peers.run_featuretools(tmp_path, 10.0, peer)
    setups = {
        label: (cmd[cmd.index("--setup") + 1], cmd[cmd.index("--max-depth") + 1])
        for label, cmd in calls
    }
    assert setups == {
        "featuretools": ("deep", "2"),
        "featuretools_plain": ("plain", "2"),
        "featuretools_plain1": ("plain", "1"),
    }
    assert set(plan.PEERS) >= set(plan.FT_SETUPS)
    for peer in plan.FT_SETUPS:
        assert plan.PIPELINES[peer] == plan.PIPELINES[f"{peer}_thresholds"] == (peer,)
        listed = (tmp_path / "lists" / f"{peer}.specialized_sme.txt").read_text()
        assert f"{peer}-a" in listed


def test_projection_recovers_the_laws_of_its_points():
    from benchmarks import projection

    def report(n: int, workers: int) -> dict:
        # driver CPU 1e-3·n, workers' CPU 4e-6·n^1.2, driver memory 300 MB + 2e-3·n, a
        # worker's 5e-3·(n/W) MB: each law must give back what follows it at any size
        stage = {
            "seconds": 1.0,
            "cpu_seconds": 1e-3 * n / 3 + 4e-6 * n**1.2 / 3,
            "others_cpu_seconds": 4e-6 * n**1.2 / 3,
            "own_peak_rss_mb": 9e9,  # wait4's peak counts the workers: not the driver's
            "leader_peak_rss_mb": 300 + 2e-3 * n,
            "largest_other_peak_rss_mb": 5e-3 * n / workers,
        }
        stages = {s: dict(stage) for s in projection.STAGES}
        return {
            "engine": "dask",
            "dask_workers": str(workers),
            "sizes": [{"companies": n, "stages": stages}],
        }

    sizes = [(50_000, 1), (200_000, 2), (1_000_000, 2)]
    pts = [p for n, w in sizes for p in projection.points(report(n, w))]
    assert [p.workers for p in pts] == [1, 2, 2]
    proj = projection.project(pts, 55_000_000, 50)
    power, affine = proj["laws"]["power"], proj["laws"]["affine"]
    assert abs(proj["fits"]["workers_cpu_s"]["power"][1] - 1.2) < 1e-9
    # linear through the origin: both laws agree
    for law in (power, affine):
        assert abs(law["driver_cpu_s"] - 55_000) < 1e-6 * 55_000
        assert abs(law["worker_peak_gb"] - 5e-3 * 55e6 / 50 / 1024) < 1e-6
    # a fixed cost: the affine law recovers it, the power law bends below it
    assert abs(affine["driver_peak_gb"] - (300 + 2e-3 * 55e6) / 1024) < 1e-6
    assert power["driver_peak_gb"] < affine["driver_peak_gb"]
    # superlinear work: the power law recovers it, the affine one falls short
    wall = 55_000 + 4e-6 * 55e6**1.2 / 50
    assert abs(power["wall_s"] - wall) < 1e-3 * wall and affine["wall_s"] < wall
    mem = projection.parse_bytes
    text = projection.render(pts, proj, mem("16GB"), mem("64GB"))
    # a 107.7 GB driver does not fit 64 GB; a 5.4 GB worker fits 16 GB
    assert "| driver peak GB |" in text and "107.7 |" in text
    assert "- the driver against 64 GB, the larger projection: **does not fit**" in text
    assert "- one worker against 16 GB, the larger projection: fits" in text
    with pytest.raises(argparse.ArgumentTypeError):
        projection.parse_bytes("16 gigs")


def test_the_ceiling_ranks_each_world_by_a_model_of_the_others_and_never_lists_a_miss():
    import numpy as np
    import pandas as pd

    from benchmarks.ceiling import Candidates, ceiling_hits

    rng = np.random.default_rng(3)

    def world(n: int, positives: int, miss_positives: int) -> Candidates:
        y = np.zeros(n, dtype=bool)
        y[:positives] = True
        x = pd.DataFrame({"signal": y + rng.normal(0, 0.05, n), "noise": rng.normal(0, 1, n)})
        miss = np.zeros(n, dtype=bool)
        miss[:miss_positives] = True  # the strongest candidates visibly miss a threshold
        return Candidates(x, y, miss)

    worlds = {"a": world(400, 60, 0), "b": world(400, 60, 0), "c": world(400, 60, 45)}
    got = ceiling_hits(worlds, 50, ["signal", "noise"])
    # learned from the other worlds, the signal separates the qualifiers exactly
    assert got["a"] == got["b"] == 50
    # a visible miss is never ranked: only 15 listable qualifiers are left in world c
    assert got["c"] == 15
    # on noise alone the same worlds give far less
    noise = ceiling_hits(worlds, 50, ["noise"])
    assert noise["a"] < 30


def test_the_warm_run_loads_every_row_once_in_two_halves(tiny_dir):
    from benchmarks import neo4j_ingest_bench as bench
    from graph.validation import read_directory

    world = read_directory(tiny_dir)
    first, second = bench.halves(world)
    assert set(first.tables) == set(second.tables) == set(world.tables)
    for name, whole in world.tables.items():
        n = len(whole.frame)
        parts = [first.tables[name].frame, second.tables[name].frame]
        assert [len(p) for p in parts] == [(n + 1) // 2, n // 2]
        # the halves interleaved again are the table, row for row
        back = pd.concat(p.set_axis(range(i, n, 2)) for i, p in enumerate(parts)).sort_index()
        pd.testing.assert_frame_equal(back, whole.frame.reset_index(drop=True))
        assert [first.tables[name].rows_read, second.tables[name].rows_read] == [
            len(p) for p in parts
        ]
