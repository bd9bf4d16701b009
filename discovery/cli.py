"""The `discovery` command. Thin: each command parses, calls one library function, prints.

Exit statuses (a stable interface, see the CLI contract):
0 success; 1 failure of the service (store down, nothing loaded);
2 a mistake of the caller (bad date, unknown tier, missing directory);
3 an input that breaks the data contract as a whole (nothing was written).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from graph.errors import ContractError, DiscoveryError, UsageError
from graph.settings import Settings, get_settings

app = typer.Typer(
    name="discovery",
    help="主动发现 proactive discovery of 专精特新 candidates: simulate, ingest, inspect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
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

    return wrapper  # type: ignore[return-value]


def say_error(message: object) -> None:
    """One plain line on stderr (no wrapping, no markup), as scripts expect."""
    sys.stderr.write(f"error: {message}\n")


def parse_date(text: str, option: str = "--as-of") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date written YYYY-MM-DD, not '{text}'.") from None


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


def settings() -> Settings:
    return get_settings()


@app.command()
@plain_errors
def simulate(
    companies: Annotated[int, typer.Option(help="number of companies in the world")] = 4000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed writes the same files")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="data directory to write")] = Path("data"),
    truth: Annotated[
        Path | None, typer.Option(help="where to write who would qualify (never into --out)")
    ] = None,
    end: Annotated[str, typer.Option(help="the simulation's end date")] = "2025-12-31",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write a synthetic economy in the data contract (模拟数据)."""
    from discovery.simulation import simulate as run_simulation

    if companies < 100:
        raise UsageError("--companies must be at least 100.")
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"--format must be csv or parquet, not '{fmt}'.")
    if truth is not None and truth.resolve().parent == out_dir.resolve():
        raise UsageError("--truth must not be written inside --out: the ground truth is hidden.")
    end_date = parse_date(end, "--end")
    with progress_bar() as update:
        summary = run_simulation(
            companies,
            seed,
            out_dir,
            truth,
            end=end_date,
            fmt=fmt,
            progress=update,  # type: ignore[arg-type]
        )
    grid = RichTable(title=f"simulated world → {out_dir}")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        grid.add_row(name, f"{rows:,}")
    out.print(grid)
    holders = ", ".join(f"{tier} {n:,}" for tier, n in summary.holders.items())
    out.print(f"holders at {end_date}: {holders}")
    if truth is not None:
        out.print(f"ground truth written to {truth}")


@app.command()
@plain_errors
def ingest(
    data: Annotated[Path, typer.Option(help="data directory (CSV or Parquet per table)")],
    rejects: Annotated[
        Path | None, typer.Option(help="rejects report (default $DISCOVERY_HOME/rejects.csv)")
    ] = None,
) -> None:
    """Validate a data directory and load it into the store (导入数据)."""
    from graph.loading import ingest as run_ingest
    from graph.store import open_store

    cfg = settings()
    rejects_path = rejects or cfg.home / "rejects.csv"
    with open_store(cfg) as store, progress_bar() as update:
        report = run_ingest(
            data,
            store,
            rejects_path,
            on_table=lambda name: update(f"validate {name}", 0, 1),
            progress=update,
        )
    grid = RichTable(title=f"ingest {data} → {store.kind} store")
    for col in ("table", "read", "loaded", "rejected"):
        grid.add_column(col, justify="left" if col == "table" else "right")
    for name, row in report.batch.summary().items():
        grid.add_row(name, f"{row['read']:,}", f"{row['loaded']:,}", f"{row['rejected']:,}")
    out.print(grid)
    state = "stored as " + str(report.result.version) if report.result.changed else "no change"
    out.print(
        f"loaded {report.loaded_rows:,} rows, rejected {report.rejected_rows:,} "
        f"(see {rejects_path}); {state}"
    )
    if report.loaded_rows == 0:
        say_error("no valid row was found, nothing was loaded.")
        raise typer.Exit(1)


@app.command()
@plain_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What the store and the model registry hold (状态)."""
    from discovery.status import collect_status

    info = collect_status(settings())
    if as_json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        return
    store = info["store"]
    grid = RichTable(title=f"{store['kind']} store, version {store.get('version') or '—'}")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for name, rows in store["tables"].items():
        grid.add_row(name, f"{rows:,}")
    out.print(grid)


def main() -> None:  # pragma: no cover - console entry point
    app()
