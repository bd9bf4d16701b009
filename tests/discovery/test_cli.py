"""The `discovery` command's stable calls: outputs and exit statuses."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from discovery.cli import app
from discovery.criteria import default_criteria
from discovery.records import open_records
from discovery.records.keys import authenticate
from discovery.snapshots import SUFFIX
from graph.settings import get_settings
from tests.discovery.conftest import AS_OF, TrainedWorld
from tests.factories import codes, tiny_tables, write_tables

runner = CliRunner()


def status_json() -> dict:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ingest_reports_rejects_and_status_counts_rows(home: Path, tmp_path: Path) -> None:
    tables = tiny_tables()
    bad = codes(1)[0][:17] + "Z"  # Z is not in the code alphabet
    tables["companies"].loc[1, "uscc"] = bad
    tables["financials"].loc[2, "revenue_wan"] = "n/a"
    data = write_tables(tables, tmp_path / "data")
    result = runner.invoke(app, ["ingest", "--data", str(data)])
    assert result.exit_code == 0, result.output
    rejects = pd.read_csv(home / "rejects.csv", dtype=str, keep_default_na=False)
    assert list(rejects.columns) == ["file", "line", "column", "value", "reason"]
    assert rejects[["file", "line", "column"]].values.tolist() == [
        ["companies.csv", "3", "uscc"],
        ["financials.csv", "4", "revenue_wan"],
    ]
    assert rejects["value"].tolist() == [bad, "n/a"]
    counts = status_json()["store"]["tables"]
    assert counts["companies"] == len(tables["companies"]) - 1
    assert counts["financials"] == len(tables["financials"]) - 1
    assert counts["patents"] == len(tables["patents"])


def test_rejects_file_option(home: Path, tmp_path: Path, tiny_dir: Path) -> None:
    target = tmp_path / "elsewhere" / "r.csv"
    result = runner.invoke(app, ["ingest", "--data", str(tiny_dir), "--rejects", str(target)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(target).empty


def test_missing_uscc_column_exits_3_and_keeps_the_store(
    home: Path, tmp_path: Path, tiny_dir: Path
) -> None:
    assert runner.invoke(app, ["ingest", "--data", str(tiny_dir)]).exit_code == 0
    before = status_json()
    rejects_before = (home / "rejects.csv").read_bytes()
    tables = tiny_tables()
    tables["companies"].loc[0, "name"] = "应当不被写入"
    tables["patents"] = tables["patents"].drop(columns=["uscc"])
    broken = write_tables(tables, tmp_path / "broken")
    result = runner.invoke(app, ["ingest", "--data", str(broken)])
    assert result.exit_code == 3
    assert "'uscc' is missing" in result.stderr
    assert "Traceback" not in result.output
    assert status_json() == before
    assert (home / "rejects.csv").read_bytes() == rejects_before


def test_caller_mistakes_exit_2_with_one_sentence(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr


def test_the_installed_command_exits_2_without_traceback(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DISCOVERY_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "discovery", "ingest", "--data", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")


def test_status_of_an_empty_home(home: Path) -> None:
    info = status_json()
    assert info["store"]["kind"] == "embedded"
    assert set(info["store"]["tables"].values()) == {0}


def test_simulated_world_passes_the_contract_and_five_broken_rows_are_rejected(
    home: Path, tmp_path: Path
) -> None:
    import shutil

    from graph.validation import read_directory

    data, truth = tmp_path / "D", tmp_path / "T.csv"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--companies",
            "4000",
            "--seed",
            "5",
            "--out",
            str(data),
            "--truth",
            str(truth),
        ],
    )
    assert result.exit_code == 0, result.output
    assert truth.is_file() and not (data / "T.csv").exists()
    batch = read_directory(data)
    assert batch.rejects.empty
    assert len(batch.tables["companies"].frame) == 4000

    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    edits = {
        ("companies.csv", 10, "uscc"): lambda v: v[:17] + ("0" if v[17] != "0" else "1"),
        ("financials.csv", 20, "reported_on"): lambda v: "2023-02-30",
        ("patents.csv", 30, "ip_type"): lambda v: "trade_secret",
        ("supply_links.csv", 40, "customer_uscc"): lambda v: v[:12],
        ("investments.csv", 50, "amount_wan"): lambda v: "五百万",
    }
    for (file, line, column), change in edits.items():
        frame = pd.read_csv(broken / file, dtype=str, keep_default_na=False)
        frame.loc[line - 2, column] = change(frame.loc[line - 2, column])
        frame.to_csv(broken / file, index=False)
    result = runner.invoke(app, ["ingest", "--data", str(broken)])
    assert result.exit_code == 0, result.output
    rejects = pd.read_csv(home / "rejects.csv", dtype=str, keep_default_na=False)
    got = {
        (f, int(n), c) for f, n, c in rejects[["file", "line", "column"]].itertuples(index=False)
    }
    assert got == set(edits)
    counts = status_json()["store"]["tables"]
    assert counts["companies"] == 3999
    assert counts["supply_links"] == batch.summary()["supply_links"]["loaded"] - 1
    assert counts["patents"] == batch.summary()["patents"]["loaded"] - 1


def test_criteria_check_names_contradicted_thresholds(home: Path, tmp_path: Path) -> None:
    """Reviewers who accept one niche year and two own class-I rights contradict the file."""
    data = tmp_path / "data"
    sim = runner.invoke(
        app,
        [
            "simulate",
            "--companies",
            "6000",
            "--seed",
            "4",
            "--scenario",
            "looser_review",
            "--out",
            str(data),
        ],
    )
    assert sim.exit_code == 0, sim.output
    assert runner.invoke(app, ["ingest", "--data", str(data)]).exit_code == 0
    result = runner.invoke(app, ["criteria", "check", "--as-of", "2025-12-31", "--json"])
    assert result.exit_code == 0, result.output
    checks = {c["tier"]: c for c in json.loads(result.stdout)}
    assert "ss_niche_years" in checks["specialized_sme"]["contradicted"]
    assert "lg_class_one_ip" in checks["little_giant"]["contradicted"]
    niche = {t["id"]: t for t in checks["specialized_sme"]["thresholds"]}["ss_niche_years"]
    assert niche["approvals_violating"] > 0.05 * niche["approvals_known"]
    text = runner.invoke(app, ["criteria", "check", "--as-of", "2025-12-31"])
    assert text.exit_code == 0
    assert "Contradicted 与决定矛盾: " in text.stdout and "lg_class_one_ip" in text.stdout
    bad = runner.invoke(app, ["criteria", "check", "--as-of", "31/12/2025"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a fresh process, with `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "discovery", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=300,  # a command that should refuse at once but serves instead fails, not hangs
    )


def one_sentence(proc: subprocess.CompletedProcess[str], status: int) -> str:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_a_bad_setting_names_its_variable(home: Path) -> None:
    for args in (["status"], ["keys", "create", "--role", "analyst"], ["serve"]):
        line = one_sentence(run_cli(*args, DISCOVERY_STORE="bogus"), 2)
        assert "DISCOVERY_STORE='bogus'" in line and "'embedded' or 'neo4j'" in line


def test_an_unwritable_output_is_refused_before_any_work(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    ranked = run_cli(
        *("rank", "--as-of", "2025-12-31", "--tier", "specialized_sme", "--top", "5"),
        *("--out", str(blocker / "list.csv")),
    )
    assert "--out" in one_sentence(ranked, 2) and str(blocker) in ranked.stderr
    (tmp_path / "dir.csv").mkdir()
    folder = run_cli(
        *("rank", "--as-of", "2025-12-31", "--tier", "specialized_sme", "--top", "5"),
        *("--out", str(tmp_path / "dir.csv")),
    )
    assert "is a directory" in one_sentence(folder, 2)
    feats = run_cli("features", "--as-of", "2025-12-31", "--out", str(blocker / "f.parquet"))
    assert "--out" in one_sentence(feats, 2)


def test_unwritable_rejects_exit_2_and_leave_the_store(
    home: Path, tmp_path: Path, tiny_dir: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = run_cli("ingest", "--data", str(tiny_dir), "--rejects", str(blocker / "r.csv"))
    assert "--rejects" in one_sentence(proc, 2)
    assert set(status_json()["store"]["tables"].values()) == {0}


def test_an_unusable_home_is_a_service_failure_in_one_sentence(
    tmp_path: Path, tiny_dir: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    home = str(blocker / "home")
    for args in (
        ["ingest", "--data", str(tiny_dir)],
        ["keys", "create", "--role", "analyst"],
        ["keys", "list"],
        ["status"],
        ["serve"],
    ):
        line = one_sentence(run_cli(*args, DISCOVERY_HOME=home), 1)
        assert "DISCOVERY_HOME" in line and home in line
    # a home that is itself a file: status reads nothing and says why
    line = one_sentence(run_cli("status", DISCOVERY_HOME=str(blocker)), 1)
    assert f"{blocker} (DISCOVERY_HOME)" in line and "not a directory" in line


def test_rank_in_the_future_exits_2(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    proc = run_cli(
        *("rank", "--as-of", "2099-12-31", "--tier", "specialized_sme", "--top", "5"),
        *("--out", str(out)),
    )
    assert "--as-of" in one_sentence(proc, 2) and "2099-12-31" in proc.stderr
    assert not out.exists()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"discovery {version('sme-discovery')}\n"
    assert re.fullmatch(r"discovery \d+\.\d+\.\d+\n", result.stdout)


def test_keys_list_shows_no_secret_and_a_revoked_key_authenticates_nothing(home: Path) -> None:
    made = runner.invoke(app, ["keys", "create", "--role", "official", "--regions", "3205"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    key_id = secret.split("_")[1]
    records = open_records(get_settings())
    with records.session() as session:
        assert authenticate(session, secret) is not None
    listed = runner.invoke(app, ["keys", "list"])
    as_json = runner.invoke(app, ["keys", "list", "--json"])
    assert listed.exit_code == as_json.exit_code == 0
    assert key_id in listed.stdout and "official" in listed.stdout and "3205" in listed.stdout
    [row] = json.loads(as_json.stdout)
    assert row["key_id"] == key_id and row["regions"] == ["3205"] and row["revoked"] is None
    # neither the secret nor what is stored of it is ever printed
    with records.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT salt, digest FROM api_keys").one()
    for shown in (listed.stdout, as_json.stdout):
        for hidden in (secret.split("_", 2)[2], *stored):
            assert hidden not in shown

    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and f"revoked official key {key_id}" in revoked.stdout
    with records.session() as session:
        assert authenticate(session, secret) is None
    records.close()
    [row] = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert row["revoked"] is not None
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 0 and "already revoked" in again.stdout
    unknown = runner.invoke(app, ["keys", "revoke", "000000000000"])
    assert unknown.exit_code == 2 and "no API key with id '000000000000'" in unknown.stderr
    # revoking by the whole key works too, and never prints its secret
    other = runner.invoke(app, ["keys", "create", "--role", "platform"]).stdout.strip()
    by_key = runner.invoke(app, ["keys", "revoke", other])
    assert by_key.exit_code == 0 and f"revoked platform key {other.split('_')[1]}" in by_key.stdout
    assert other.split("_", 2)[2] not in by_key.output


@pytest.fixture
def trained_home(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the trained world's state directory, selected as operators do."""
    home = tmp_path / "home"
    shutil.copytree(trained_world.registry.root.parent, home)
    monkeypatch.setenv("DISCOVERY_HOME", str(home))
    monkeypatch.setenv("DISCOVERY_STORE", "embedded")
    return home


def test_status_text_shows_the_models_of_each_tier_and_the_serving_one(
    trained_home: Path, trained_world: TrainedWorld
) -> None:
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    for tier in ("specialized_sme", "little_giant"):
        serving = trained_world.registry.serving(tier)
        assert serving is not None
        count = len(trained_world.registry.list(tier))
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(tier))
        assert f"{count:,} registered" in line and f"serving {serving.model_id}" in line
        assert f"data as of {AS_OF}" in line


def rows_in(path: Path) -> int:
    if path.suffix == ".csv":
        return len(pd.read_csv(path, dtype=str))
    return load_workbook(path, read_only=True).worksheets[0].max_row - 1


def test_rank_without_top_or_out_uses_the_criteria_defaults(trained_home: Path) -> None:
    day = AS_OF.isoformat()
    for tier in ("specialized_sme", "little_giant"):
        result = runner.invoke(app, ["rank", "--as-of", day, "--tier", tier])
        assert result.exit_code == 0, result.output
        assert "warning" not in result.stdout  # every checked table holds rows
        written = trained_home / "lists" / f"{tier}-{day}.xlsx"
        assert f"full list written to {written}" in result.stdout
        everyone = trained_home / f"all-{tier}.csv"
        whole = runner.invoke(
            app, ["rank", "--as-of", day, "--tier", tier, "--top", "100000", "--out", str(everyone)]
        )
        assert whole.exit_code == 0, whole.output
        expected = min(default_criteria().default_top(tier), rows_in(everyone))
        assert rows_in(written) == expected > 0


def test_rank_warns_of_checked_tables_not_on_file(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = AS_OF.isoformat()
    args = ["rank", "--as-of", day, "--tier", "little_giant", "--out", str(tmp_path / "l.csv")]
    # the list's summary names what the store lacks (`not_on_file`, tested with the lists;
    # the simulated world holds every table, and its lists warn of none: the test above)
    monkeypatch.setattr("discovery.ranking.not_on_file", lambda store: ["patents"])
    thin = runner.invoke(app, args)
    assert thin.exit_code == 0, thin.output
    line = next(x for x in thin.stdout.splitlines() if x.startswith("注意 warning"))
    assert "知识产权 patents" in line and "read unknown" in line


def test_rank_without_a_model_names_the_whole_train_call(home: Path, tiny_dir: Path) -> None:
    assert runner.invoke(app, ["ingest", "--data", str(tiny_dir)]).exit_code == 0
    result = runner.invoke(app, ["rank", "--as-of", "2025-12-31", "--tier", "little_giant"])
    assert result.exit_code == 2
    assert "`discovery train --as-of 2025-12-31 --tier little_giant`" in result.stderr
    # the answer comes before any feature snapshot is built for the date
    assert not list((home / "cache").rglob(f"*{SUFFIX}"))


@pytest.fixture
def read_only_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory that cannot be written: a read-only bind mount (root), or mode 555.

    Where neither can be made (root without mounts), creating a file in it fails as a
    read-only file system does.
    """
    home = tmp_path / "ro-home"
    home.mkdir()
    monkeypatch.setenv("DISCOVERY_HOME", str(home))
    if os.geteuid() != 0:
        home.chmod(0o555)
        yield home
        home.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(home), str(home)], check=False).returncode
    if mounted == 0:
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(home)], check=True)
            yield home
        finally:
            subprocess.run(["umount", str(home)], check=False)
        return

    def read_only(*_args: object, **_kw: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(home))

    monkeypatch.setattr("discovery.cli_support.tempfile.NamedTemporaryFile", read_only)
    yield home


def test_serve_on_a_read_only_home_is_one_sentence(
    read_only_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: started.append(a))
    result = runner.invoke(app, ["serve", "--port", "8999"])
    assert result.exit_code == 1 and not started
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert f"{read_only_home} (DISCOVERY_HOME) cannot be written" in lines[0]
    assert "Read-only file system" in lines[0] or "Permission denied" in lines[0]
    # reading still works: status answers from a read-only home
    assert runner.invoke(app, ["status"]).exit_code == 0
