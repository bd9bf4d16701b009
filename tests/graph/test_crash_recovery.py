"""Hostile or half-finished state: a crash between a version's rename and the pointer,
killed training runs, binary Parquet text, giant CSV values."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from discovery.cli import app
from discovery.registry import Registry
from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from graph.errors import UnreadableFileError
from graph.reading import MAX_LINE_BYTES
from graph.validation import (
    MAX_CELL_CHARS,
    SHOWN_CHARS,
    Batch,
    read_directory,
    validate_file,
)
from tests.factories import tiny_tables, write_tables


def changed_batch(tmp_path: Path, name: str, award: str) -> Batch:
    tables = tiny_tables()
    tables["awards"].loc[0, "name"] = award
    return read_directory(write_tables(tables, tmp_path / name))


def test_a_crash_between_rename_and_pointer_does_not_wedge_later_loads(
    tmp_path: Path, tiny_dir: Path
) -> None:
    store = EmbeddedStore(tmp_path / "store")
    store.load(read_directory(tiny_dir))
    first = store.current_version()
    assert first == "v000001"
    before = store.read("awards")

    # the state a crash leaves: v000002 renamed into place, CURRENT still naming v000001
    crashed = EmbeddedStore(tmp_path / "crashed")
    crashed.load(read_directory(tiny_dir))
    crashed.load(changed_batch(tmp_path, "lost", "失落的版本"))
    shutil.copytree(crashed.versions_dir / "v000002", store.versions_dir / "v000002")
    assert store.current_version() == first
    pd.testing.assert_frame_equal(EmbeddedStore(store.root).read("awards"), before)

    result = EmbeddedStore(store.root).load(changed_batch(tmp_path, "next", "新的版本"))
    assert result.changed and result.version == "v000002"
    fresh = EmbeddedStore(store.root)
    assert fresh.current_version() == "v000002"
    assert fresh.read("awards")["name"].iloc[0] == "新的版本"
    assert fresh.manifest()["source"].endswith("next")


def test_the_next_registration_removes_staging_folders_of_killed_runs(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    tier_dir = tmp_path / "models" / "specialized_sme"
    killed = tier_dir / ".staging-specialized_sme-20250101T000000-0-99999999"
    killed.mkdir(parents=True)
    (killed / "model.txt").write_text("half a model", encoding="utf-8")

    bundle = {"metrics": {"primary": 0.5}}
    model = registry.register("specialized_sme", "tree", bundle, "# card")
    assert not killed.exists()
    assert not list(tier_dir.glob(".staging-*"))
    assert [m.model_id for m in registry.list("specialized_sme")] == [model.model_id]


def binary_names(tmp_path: Path, raw: bytes) -> Path:
    data = write_tables(tiny_tables(), tmp_path / "data")
    companies = pd.read_csv(data / "companies.csv", dtype=str)
    companies["name"] = [raw + s.encode() for s in companies["name"]]
    (data / "companies.csv").unlink()
    companies.to_parquet(data / "companies.parquet")
    return data


def test_a_binary_parquet_column_is_a_contract_error_naming_file_and_column(
    tmp_path: Path,
) -> None:
    data = binary_names(tmp_path, b"\xff\xfe")
    with pytest.raises(UnreadableFileError) as caught:
        read_directory(data)
    assert "companies.parquet" in str(caught.value) and "'name'" in str(caught.value)
    # binary that is UTF-8 text is read as text
    readable = binary_names(tmp_path / "ok", b"")
    names = read_directory(readable).tables["companies"].frame["name"]
    assert names.str.startswith("深圳").all()


def test_the_cli_refuses_binary_parquet_with_exit_3_and_stores_nothing(
    home: Path, tmp_path: Path
) -> None:
    data = binary_names(tmp_path, b"\xff\xfe")
    result = CliRunner().invoke(app, ["ingest", "--data", str(data)])
    assert result.exit_code == 3, result.output
    assert "'name'" in result.stderr and "Traceback" not in result.output
    assert EmbeddedStore(home / "store").current_version() is None


def test_a_giant_line_is_refused_unparsed_naming_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_tables(tiny_tables(), tmp_path / "data")
    companies = pd.read_csv(data / "companies.csv", dtype=str)
    companies.loc[2, "main_product"] = "激" * MAX_LINE_BYTES
    companies.to_csv(data / "companies.csv", index=False)
    parsed: list[object] = []
    real = pd.read_csv

    def spy(path: object, *a: object, **k: object) -> pd.DataFrame:
        if k.get("nrows") != 0:
            parsed.append(path)
        return real(path, *a, **k)

    monkeypatch.setattr(pd, "read_csv", spy)
    with pytest.raises(UnreadableFileError) as caught:
        validate_file(data / "companies.csv", TABLES["companies"])
    message = str(caught.value)
    assert "companies.csv" in message and "line 4" in message and "'main_product'" in message
    assert parsed == []  # refused before pandas parsed it


def test_a_long_value_is_rejected_with_its_row_and_shown_cut(tmp_path: Path) -> None:
    data = write_tables(tiny_tables(), tmp_path / "data")
    companies = pd.read_csv(data / "companies.csv", dtype=str)
    companies.loc[2, "main_product"] = "x" * (MAX_CELL_CHARS + 1)
    companies.loc[3, "region_code"] = "4" * 10_000  # too long and not six digits: one reject
    companies.to_csv(data / "companies.csv", index=False)
    batch, rejects = validate_file(data / "companies.csv", TABLES["companies"])
    assert list(rejects["line"]) == [4, 5]
    assert list(rejects["column"]) == ["main_product", "region_code"]
    assert rejects["reason"].str.contains("longer than").all()
    assert rejects["value"].str.len().max() == SHOWN_CHARS + 1
    assert rejects["value"].str.endswith("…").all()
    assert batch.rows_rejected == 2 and len(batch.frame) == len(companies) - 2


def test_a_load_removes_the_staging_folder_of_a_killed_load(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    staging = store.versions_dir / f".staging-v000009-{os.getpid()}"
    staging.mkdir(parents=True)
    store.load(changed_batch(tmp_path, "d", "奖"))
    assert not staging.exists()
