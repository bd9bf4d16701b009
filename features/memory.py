"""Freed memory given back to the system between the large steps of a build.

Two allocators keep what a step frees instead of returning it. pandas keeps text in
Arrow arrays and reads and writes Parquet through Arrow, whose allocator (mimalloc or
jemalloc) keeps freed pages for later reuse; and glibc's `malloc`, which holds numpy's
arrays, returns memory only from the top of its heaps, so arrays freed beneath live
ones stay resident (at a million companies a column is 8 MB, below the size from
which glibc maps arrays apart). Between steps that free hundreds of megabytes at
national scale (the store read and coded, a date built, a snapshot written or read
back) both only raise the resident memory of the process, and it adds up from step to
step: `release_memory` returns it, as Dask's workers do with `malloc_trim`. It takes
milliseconds and changes no result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache

import pyarrow as pa


def release_memory() -> None:
    """Return the pages Arrow's allocator and glibc's `malloc` hold free to the system."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its control group's
    limit when that is lower (a container's `memory.max` under cgroup v2, or
    `memory.limit_in_bytes` under v1)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total
