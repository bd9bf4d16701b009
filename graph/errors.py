"""Our own errors. Each builds its message in the class, naming the object and the fix.

The CLI maps `UsageError` to exit status 2 and `ContractError` to exit status 3;
every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class DiscoveryError(Exception):
    """Base class of every error the service reports in plain words."""


class UsageError(DiscoveryError):
    """The caller asked for something impossible (bad date, unknown tier, missing directory)."""


class ContractError(DiscoveryError):
    """An input breaks the data contract as a whole, so nothing of it may be loaded."""

    def __reduce__(self) -> tuple:
        # subclasses build their message from other arguments; rebuild from the message
        # (validation runs in worker processes, whose errors cross back pickled)
        return (_rebuild, (type(self), str(self)))


def _rebuild(cls: type[ContractError], message: str) -> ContractError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


def relabelled(error: DiscoveryError, directory: Path, label: str) -> DiscoveryError:
    """`error` with the directory's path shown as `label` (an upload's temporary
    directory is the server's business: the caller knows only its file names)."""
    message = str(error)
    for shown in {str(directory), str(directory.resolve())}:
        message = message.replace(shown + "/", f"{label}/" if label else "")
        message = message.replace(shown, label or ".")
    if message == str(error):
        return error
    copy = type(error).__new__(type(error))
    Exception.__init__(copy, message)
    return copy


class MissingTableError(ContractError):
    def __init__(self, directory: Path, table: str) -> None:
        super().__init__(
            f"{directory}: the required table '{table}' is missing "
            f"(expected {table}.csv or {table}.parquet); nothing was loaded."
        )


class MissingColumnError(ContractError):
    def __init__(self, path: Path, column: str, present: list[str]) -> None:
        shown = ", ".join(present[:12]) + (" …" if len(present) > 12 else "")
        super().__init__(
            f"{path}: the required column '{column}' is missing (the header has: {shown}); "
            "nothing was loaded."
        )


class UnreadableFileError(ContractError):
    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: cannot be read ({why}); nothing was loaded.")


class StoreError(DiscoveryError):
    """The store cannot do what was asked (server down, wrong credentials, corrupt state)."""


class StoreUnavailableError(StoreError):
    pass


class ConstraintViolationError(StoreError):
    pass


class WorkerLostError(DiscoveryError):
    """A worker of the distributed feature engine was lost mid-build (out of memory, stopped)."""
