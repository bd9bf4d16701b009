"""Uploaded data directories: a multipart body streamed into a temporary directory, bounded.

Only contract tables are accepted (`<table>.csv` or `<table>.parquet`, one file a
table, or one .zip of them); names are reduced to their last part, so nothing is
written outside the temporary directory. Bytes are counted as they arrive, never
trusting a declared size: the body against the upload limit, the tables once
unpacked against the unpacked limit, and each zip member against its own
compressed size (`MAX_RATIO`), so a small zip cannot expand into a full disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from fastapi.exceptions import RequestValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from graph.contract import TABLES
from graph.errors import DiscoveryError

NAME = re.compile(r"([a-z_]+)\.(csv|parquet)")
CHUNK = 1 << 20
#: unpacked bytes allowed per compressed byte of one zip member (CSV compresses 5–20 times)
MAX_RATIO = 100
#: members unpacking to no more than this are not held to `MAX_RATIO`
RATIO_FLOOR = 1 << 20
#: multipart framing (boundaries, part headers) allowed beyond the upload limit
FRAMING = 1 << 20
#: largest part header block
MAX_PART_HEADERS = 16 << 10
#: temporary directories are named `<WORK_PREFIX><pid>-…`
WORK_PREFIX = "discovery-upload-"


def _mb(limit: int) -> str:
    return f"{limit / (1 << 20):g}"


class UploadTooLarge(DiscoveryError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"上传内容超过{_mb(limit)} MB的上限 The upload is larger than the limit of "
            f"{_mb(limit)} MB."
        )


class UnpackedTooLarge(UploadTooLarge):
    def __init__(self, limit: int) -> None:
        DiscoveryError.__init__(
            self,
            f"解压后的数据超过{_mb(limit)} MB的上限 The unpacked tables are larger than the "
            f"limit of {_mb(limit)} MB (DISCOVERY_MAX_UNPACKED_MB); send less at a time or "
            "load the directory with `discovery ingest`.",
        )


class ZipBomb(UploadTooLarge):
    def __init__(self, member: str) -> None:
        DiscoveryError.__init__(
            self,
            f"压缩包中的'{member[:80]}'压缩比异常，已拒绝 The .zip member '{member[:80]}' "
            f"expands more than {MAX_RATIO} times its compressed size; it is refused.",
        )


class BadUpload(DiscoveryError):
    """The upload is not a set of contract tables."""


def table_file_name(name: str) -> str:
    """The file's own name if it is a contract table, else `BadUpload`."""
    base = PurePosixPath(name.replace("\\", "/")).name
    match = NAME.fullmatch(base)
    if match is None or match.group(1) not in TABLES:
        raise BadUpload(
            f"'{base[:80]}'不是数据规范中的表 '{base[:80]}' is not a table of the data "
            f"contract; send <table>.csv or <table>.parquet files (tables: "
            f"{', '.join(TABLES)}) or one .zip of them."
        )
    return base


class Unpacker:
    """Writes uploaded files into `directory` as they arrive, counting bytes and hashing content.

    `begin(filename)`, `write(chunk)`… and `end()` per file; a .zip is spooled and
    unpacked at its end. `limit` bounds the bytes received, `unpacked_limit` the
    table files written.
    """

    def __init__(self, directory: Path, limit: int, unpacked_limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self.unpacked_limit = unpacked_limit
        self.received = 0
        self.unpacked = 0
        self.digest = hashlib.sha256()
        self.tables: set[str] = set()
        self._out: IO[bytes] | None = None
        self._zip: Path | None = None

    def _claim(self, name: str) -> Path:
        table = name.rsplit(".", 1)[0]
        if table in self.tables:
            raise BadUpload(
                f"表'{table}'重复上传 The table '{table}' was sent twice; send one file per table."
            )
        self.tables.add(table)
        self.digest.update(name.encode() + b"\0")
        return self.directory / name

    def _table_bytes(self, chunk: bytes) -> None:
        self.unpacked += len(chunk)
        if self.unpacked > self.unpacked_limit:
            raise UnpackedTooLarge(self.unpacked_limit)
        self.digest.update(chunk)

    def begin(self, filename: str) -> None:
        if filename.lower().endswith(".zip"):
            self._zip = self.directory / f".upload-{len(self.tables)}-{self.received}.zip"
            self._out = self._zip.open("wb")
        else:
            self._out = self._claim(table_file_name(filename)).open("wb")

    def write(self, chunk: bytes) -> None:
        assert self._out is not None
        self.received += len(chunk)
        if self.received > self.limit:
            raise UploadTooLarge(self.limit)
        if self._zip is None:
            self._table_bytes(chunk)
        self._out.write(chunk)

    def end(self) -> None:
        assert self._out is not None
        self._out.close()
        self._out = None
        spooled, self._zip = self._zip, None
        if spooled is not None:
            try:
                self._unzip(spooled)
            finally:
                spooled.unlink(missing_ok=True)

    def close(self) -> None:
        """Close a file left open by an error."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def add(self, source: IO[bytes], filename: str) -> None:
        """Copy one whole file from `source`."""
        self.begin(filename)
        while chunk := source.read(CHUNK):
            self.write(chunk)
        self.end()

    def _unzip(self, spooled: Path) -> None:
        try:
            with zipfile.ZipFile(spooled) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if not m.is_dir()
                    and not m.filename.startswith("__MACOSX/")
                    and not PurePosixPath(m.filename).name.startswith(".")
                ]
                # the declared sizes refuse an honest oversized archive early; the bytes
                # actually unpacked are counted below whatever the headers say
                if sum(m.file_size for m in members) > self.unpacked_limit:
                    raise UnpackedTooLarge(self.unpacked_limit)
                for member in members:
                    self._unpack(archive, member)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
            raise BadUpload("无法读取.zip文件 The .zip file cannot be read.") from None

    def _unpack(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        target = self._claim(table_file_name(member.filename))
        allowed = max(RATIO_FLOOR, member.compress_size * MAX_RATIO)
        written = 0
        with archive.open(member) as inner, target.open("wb") as out:
            while chunk := inner.read(CHUNK):
                written += len(chunk)
                if written > allowed:
                    raise ZipBomb(member.filename)
                self._table_bytes(chunk)
                out.write(chunk)

    def finish(self) -> str:
        if not self.tables:
            raise BadUpload("上传内容中没有表文件 The upload holds no table files.")
        return self.digest.hexdigest()


def missing_files() -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "missing",
                "loc": ("body", "files"),
                "msg": "Field required: a multipart/form-data body with one or more 'files'",
                "input": None,
            }
        ]
    )


class FormReader:
    """Parses a multipart/form-data body chunk by chunk, sending each `files` part to an Unpacker.

    Other form fields are skipped. The whole body, framing included, is held to the
    unpacker's limit plus `FRAMING`.
    """

    def __init__(self, content_type: str | None, unpacker: Unpacker) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise missing_files()
        self.unpacker = unpacker
        self.body = 0
        self.files = 0
        self._headers = b""
        self._field = b""
        self._current: dict[bytes, bytes] = {}
        self._active = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        self.body += len(chunk)
        if self.body > self.unpacker.limit + FRAMING:
            raise UploadTooLarge(self.unpacker.limit)
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise BadUpload(f"上传内容格式错误 The multipart body is malformed: {exc}") from None

    def finish(self) -> None:
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise BadUpload(f"上传内容格式错误 The multipart body is malformed: {exc}") from None
        if self._active:
            raise BadUpload("上传内容不完整 The multipart body ends inside a file.")
        if not self.files:
            raise missing_files()

    def _part_begin(self) -> None:
        self._headers, self._field, self._current = b"", b"", {}

    def _grow(self, data: bytes, start: int, end: int) -> bytes:
        self._headers += data[start:end]
        if len(self._headers) > MAX_PART_HEADERS:
            raise BadUpload("分段头过长 A part's headers are too long.")
        return data[start:end]

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += self._grow(data, start, end)

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        key = self._field.lower()
        self._current[key] = self._current.get(key, b"") + self._grow(data, start, end)

    def _header_end(self) -> None:
        self._field = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._current.get(b"content-disposition"))
        filename = options.get(b"filename")
        if options.get(b"name") != b"files":
            return
        self.files += 1
        self._active = True
        name = "" if filename is None else filename.decode("utf-8", "replace")
        self.unpacker.begin(name)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._active:
            self.unpacker.write(data[start:end])

    def _part_end(self) -> None:
        if self._active:
            self._active = False
            self.unpacker.end()


def work_directory() -> Path:
    """A new temporary directory for one upload; those of dead processes are removed first."""
    parent = Path(tempfile.gettempdir())
    for item in parent.glob(f"{WORK_PREFIX}*-*"):
        pid = item.name[len(WORK_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            discard(item)
    return Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discard(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
