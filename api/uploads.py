"""Uploaded data directories: files (or one zip) unpacked into a temporary directory, bounded.

Only contract tables are accepted (`<table>.csv` or `<table>.parquet`, one file a
table); names are reduced to their last part, so nothing is written outside the
temporary directory. Sizes are counted while copying, compressed and unpacked.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from graph.contract import TABLES
from graph.errors import DiscoveryError

NAME = re.compile(r"([a-z_]+)\.(csv|parquet)")
CHUNK = 1 << 20
#: unpacked bytes allowed per compressed byte limit (CSV compresses about 5–10 times)
UNZIP_FACTOR = 10


class UploadTooLarge(DiscoveryError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The upload is larger than the limit of {limit // (1 << 20)} MB.")


class BadUpload(DiscoveryError):
    """The upload is not a set of contract tables."""


def table_file_name(name: str) -> str:
    """The file's own name if it is a contract table, else `BadUpload`."""
    base = PurePosixPath(name.replace("\\", "/")).name
    match = NAME.fullmatch(base)
    if match is None or match.group(1) not in TABLES:
        raise BadUpload(
            f"'{base[:80]}' is not a table of the data contract; send <table>.csv or "
            f"<table>.parquet files (tables: {', '.join(TABLES)}) or one .zip of them."
        )
    return base


class Unpacker:
    """Copies uploaded files into `directory`, counting bytes and hashing the content."""

    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self.total = 0
        self.digest = hashlib.sha256()
        self.tables: set[str] = set()

    def _copy(self, source: IO[bytes], name: str, limit: int) -> None:
        table = name.rsplit(".", 1)[0]
        if table in self.tables:
            raise BadUpload(f"The table '{table}' was sent twice; send one file per table.")
        self.tables.add(table)
        self.digest.update(name.encode() + b"\0")
        with (self.directory / name).open("wb") as out:
            while chunk := source.read(CHUNK):
                self.total += len(chunk)
                if self.total > limit:
                    raise UploadTooLarge(self.limit)
                self.digest.update(chunk)
                out.write(chunk)

    def add(self, source: IO[bytes], filename: str) -> None:
        if filename.lower().endswith(".zip"):
            self._unzip(source)
        else:
            self._copy(source, table_file_name(filename), self.limit)

    def _unzip(self, source: IO[bytes]) -> None:
        spooled = self.directory / ".upload.zip"
        with spooled.open("wb") as out:
            copied = 0
            while chunk := source.read(CHUNK):
                copied += len(chunk)
                if copied > self.limit:
                    raise UploadTooLarge(self.limit)
                out.write(chunk)
        try:
            with zipfile.ZipFile(spooled) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if not m.is_dir()
                    and not m.filename.startswith("__MACOSX/")
                    and not PurePosixPath(m.filename).name.startswith(".")
                ]
                if sum(m.file_size for m in members) > self.limit * UNZIP_FACTOR:
                    raise UploadTooLarge(self.limit * UNZIP_FACTOR)
                for member in members:
                    with archive.open(member) as inner:
                        self._copy(
                            inner, table_file_name(member.filename), self.limit * UNZIP_FACTOR
                        )
        except zipfile.BadZipFile:
            raise BadUpload("The .zip file cannot be read.") from None
        finally:
            spooled.unlink(missing_ok=True)

    def finish(self) -> str:
        if not self.tables:
            raise BadUpload("The upload holds no table files.")
        return self.digest.hexdigest()


def discard(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
