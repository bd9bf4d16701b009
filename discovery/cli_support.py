"""What every `discovery` command shares: plain errors and their exit statuses, dates,
progress bars, the state directory.

Exit statuses (a stable interface, see the CLI contract):
0 success; 1 failure of the service (store down, nothing loaded, an unusable home);
2 a mistake of the caller (bad date, unknown tier, missing directory);
3 an input that breaks the data contract as a whole (nothing was written).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from graph.errors import ContractError, DiscoveryError, StoreUnavailableError, UsageError
from graph.settings import get_settings

if TYPE_CHECKING:
    from discovery.workspace import Workspace

out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def plain_errors(func: F) -> F:
    """Turn our own errors into one plain sentence and the contract's exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UsageError as exc:
            say_error(exc)
            raise typer.Exit(2) from None
        except ContractError as exc:
            say_error(exc)
            raise typer.Exit(3) from None
        except DiscoveryError as exc:
            say_error(exc)
            raise typer.Exit(1) from None
        except ValidationError as exc:  # the settings, read from the environment
            say_error(settings_error(exc))
            raise typer.Exit(2) from None
        except OSError as exc:
            message, code = path_error(exc)
            say_error(message)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def settings_error(exc: ValidationError) -> str:
    """A settings error as one sentence naming the environment variable."""
    parts = []
    for e in exc.errors():
        field = "_".join(str(x) for x in e["loc"]).upper()
        name = field if field.startswith(("NEO4J_", "DISCOVERY_")) else f"DISCOVERY_{field}"
        parts.append(f"{name}={e.get('input')!r} is not valid: {e['msg']}")
    return "; ".join(parts) + "." if parts else str(exc)


def path_error(exc: OSError) -> tuple[str, int]:
    """A file-system error as one sentence, and its exit status.

    The state directory that cannot be written is a failure of the service (1); a
    path the caller named (`--out`, `--rejects`) is a mistake of the caller (2).
    """
    reason = exc.strerror or type(exc).__name__
    if exc.filename is None:
        return f"{reason}.", 1
    where = Path(os.fsdecode(exc.filename))
    try:
        home = get_settings().home
    except ValidationError:
        home = None
    if home is not None and where.resolve().is_relative_to(home.resolve()):
        return (
            f"the state directory {home} (DISCOVERY_HOME) cannot be used: {reason} ({where}).",
            1,
        )
    return f"cannot write {where}: {reason}.", 2


def check_writable(path: Path, option: str) -> None:
    """Refuse, before any work, an output path that cannot be written."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory, not a file.")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path} cannot be written: {parent} is not a directory.")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path} cannot be written: {parent} is not writable.")


def say_error(message: object) -> None:
    """One plain line on stderr (no wrapping, no markup), as scripts expect."""
    sys.stderr.write(f"error: {message}\n")


def parse_date(text: str, option: str = "--as-of", *, decision: bool = True) -> date:
    """A date option, checked by the one rule of `discovery.vocabulary` (named by its flag)."""
    from discovery.vocabulary import as_date, decision_date

    return decision_date(text, option) if decision else as_date(text, option)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar fed with (step, done, total) callbacks; quiet when not a terminal."""
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled or not err.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield update


def workspace() -> Workspace:
    """The state directory of `$DISCOVERY_HOME`, as every command sees it."""
    from discovery.workspace import load

    return load()


def usable_home(home: Path) -> Path:
    """The state directory, refused in one sentence when it cannot be read (exit status 1).

    A home that does not exist yet is fine: the first `ingest` or `simulate` makes it.
    """
    problem = None
    if home.exists():
        if not home.is_dir():
            problem = "it is not a directory"
        elif not os.access(home, os.R_OK | os.X_OK):
            problem = "it cannot be read"
    else:
        parent = home.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            problem = f"{parent} is not a directory"
    if problem:
        raise StoreUnavailableError(
            f"the state directory {home} (DISCOVERY_HOME) cannot be used: {problem}."
        )
    return home


def writable_home(home: Path) -> Path:
    """The state directory, made if need be and proved writable with a probe file.

    The service writes its records, audit log and uploads there: a read-only home stops
    it before it starts, in one sentence (exit status 1).
    """
    usable_home(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".probe-"):
            pass
    except OSError as exc:
        raise StoreUnavailableError(
            f"the state directory {home} (DISCOVERY_HOME) cannot be written "
            f"({exc.strerror or type(exc).__name__}): the service keeps its records, audit "
            "log and uploads there."
        ) from None
    return home
