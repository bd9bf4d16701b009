"""A Parquet file is decoded in bounded memory: compression and dictionary bombs are refused."""

from __future__ import annotations

import resource
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph.errors import UnreadableFileError
from graph.reading import PARQUET_MAX_RATIO, read_raw
from graph.validation import read_directory
from tests.factories import tiny_tables, write_tables


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_dictionary_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    # one 1 MB name repeated 1,000 times: ~1 GB of text in a file of about 1 MB
    rows = 1000
    names = pa.DictionaryArray.from_arrays(
        pa.array([0] * rows, pa.int32()), pa.array(["名" * (2**20 // 3)])
    )
    table = pa.table({"uscc": [f"U{i}" for i in range(rows)], "name": names})
    path = tmp_path / "companies.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 2 * 2**20
    before = peak_rss_mb()
    with pytest.raises(UnreadableFileError, match=r"companies\.parquet.*compression bomb"):
        read_raw(path)
    assert peak_rss_mb() - before < 300


def test_a_compression_bomb_is_refused_from_its_metadata(tmp_path: Path) -> None:
    # distinct values, so no dictionary: the encoded pages themselves are huge
    rows = 200_000
    table = pa.table({"uscc": pa.array([f"{i:018d}" + "0" * 1000 for i in range(rows)])})
    path = tmp_path / "companies.parquet"
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    encoded = pq.ParquetFile(path).metadata.row_group(0).column(0).total_uncompressed_size
    assert encoded > PARQUET_MAX_RATIO * path.stat().st_size + 64 * 2**20
    with pytest.raises(UnreadableFileError, match="compression bomb"):
        read_raw(path)


def test_ordinary_parquet_still_reads_as_before(tmp_path: Path) -> None:
    tables = tiny_tables()
    text = read_directory(write_tables(tables, tmp_path / "csv"))
    packed = read_directory(write_tables(tables, tmp_path / "pq", fmt="parquet"))
    for name, batch in text.tables.items():
        assert batch.frame.equals(packed.tables[name].frame), name
