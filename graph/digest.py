"""A frame's content digest, read from its columns' Arrow buffers.

The store keeps one digest per table (a table whose digest did not change is not
written again) and one for the whole store (snapshot caches and model cards are keyed
by it). pandas' row hashing (`pd.util.hash_pandas_object`) made text into Python
objects and hashed every row: about 7 CPU seconds of a million-company world's
validation. Here each column goes to Arrow as it is (text columns already are Arrow)
and SHA-256 reads its bytes: which rows are missing, the values (missing ones as 0),
and for text each value's length and its UTF-8 bytes. The digest depends on the values
alone, not on how Arrow cut a column into chunks, where a slice starts, or whether text
is `string` or `large_string`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: bumped when the digest's bytes change, so a digest never matches an older kind's
VERSION = b"frame-digest-1"


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A digest of a frame's content (values, their kinds and the column names, not its index)."""
    digest = hashlib.sha256(VERSION)
    digest.update(len(frame).to_bytes(8, "little"))
    for name in frame.columns:
        digest.update(str(name).encode() + b"\x00")
        digest.update(column_digest(frame[name]))
    return digest.hexdigest()[:16]


def column_digest(series: pd.Series) -> bytes:
    """The digest of one column's values (32 bytes)."""
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        array = None  # values Arrow cannot type (mixed Python objects)
    if array is not None and pa.types.is_dictionary(array.type):  # categories: their values
        array = array.cast(array.type.value_type)
    kind = _kind(array.type) if array is not None else None
    if kind is None:  # nested or unusual values: pandas' row hashes
        try:
            hashed = pd.util.hash_pandas_object(series, index=False).to_numpy()
        except TypeError:  # unhashable values (lists, dicts): their text
            hashed = pd.util.hash_pandas_object(series.astype("str"), index=False).to_numpy()
        return hashlib.sha256(b"rows\x00" + hashed.tobytes()).digest()
    assert array is not None
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    # three streams, each fed chunk after chunk, so chunking cannot matter: which rows
    # are missing; the values (missing ones as 0) or text's lengths; text's bytes
    missing, values, text = hashlib.sha256(), hashlib.sha256(kind.encode()), hashlib.sha256()
    for chunk in chunks:
        missing.update(_bytes(chunk.is_null().to_numpy(zero_copy_only=False)))
        if kind == "text":
            if chunk.null_count:  # a missing value's slot may hold bytes: made empty
                chunk = pc.fill_null(chunk, "")
            values.update(_bytes(pc.binary_length(chunk).to_numpy().astype(np.int64)))
            _text_bytes(chunk, text)
        elif kind != "null":
            if chunk.null_count:
                chunk = pc.fill_null(chunk, pa.scalar(0).cast(chunk.type))
            values.update(_bytes(chunk.to_numpy(zero_copy_only=False)))
    return hashlib.sha256(missing.digest() + values.digest() + text.digest()).digest()


def _bytes(values: np.ndarray) -> memoryview:
    """The bytes of `values` as they lie in memory (copied only if not contiguous)."""
    return np.ascontiguousarray(values).view(np.uint8).data


def _kind(kind: pa.DataType) -> str | None:
    """How a column of Arrow type `kind` is read: "text", "null", its type for fixed-width
    values, None for the rest."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_null(kind):
        return "null"
    fixed = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_temporal)
    if any(test(kind) for test in fixed) and not pa.types.is_interval(kind):
        return str(kind)
    return None


def _text_bytes(chunk: pa.Array, into: hashlib._Hash) -> None:
    """Feed the UTF-8 bytes of `chunk`'s values (a slice's own bytes only) to `into`."""
    if len(chunk) == 0:
        return
    _, offsets_buffer, data = chunk.buffers()
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)
    start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
    if data is not None and end > start:
        into.update(memoryview(data)[start:end])
