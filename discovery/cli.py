"""The `discovery` command. Thin: each command parses, calls one library function, prints.

Exit statuses (a stable interface, see the CLI contract):
0 success; 1 failure of the service (store down, nothing loaded, an unusable home);
2 a mistake of the caller (bad date, unknown tier, missing directory);
3 an input that breaks the data contract as a whole (nothing was written).
What the commands share (errors, dates, progress, the home) is in `discovery.cli_support`;
`discovery keys` is in `discovery.cli_keys`.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table as RichTable

from discovery.cli_keys import keys_app
from discovery.cli_support import (
    check_writable,
    out,
    parse_date,
    plain_errors,
    progress_bar,
    say_error,
    usable_home,
    workspace,
    writable_home,
)
from graph.errors import UsageError
from graph.settings import get_settings

# An application may choose its OpenMP behaviour (a library may not): LightGBM's idle
# threads sleep instead of spinning, which costs little alone and saves a lot on a busy
# machine. Set before any command imports LightGBM; an operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

app = typer.Typer(
    name="discovery",
    help="主动发现 proactive discovery of 专精特新 candidates: simulate, ingest, inspect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
DISTRIBUTION = "sme-discovery"


def package_version() -> str:
    """The installed version of the distribution (`pyproject.toml`)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(asked: bool) -> None:
    if asked:
        sys.stdout.write(f"discovery {package_version()}\n")
        raise typer.Exit()


@app.callback()
def options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """主动发现 proactive discovery of 专精特新 candidates: simulate, ingest, inspect."""


@app.command()
@plain_errors
def simulate(
    companies: Annotated[
        int | None,
        typer.Option(help="number of companies in the world (default: the scenario's, 4000)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed; the same seed writes the same files")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="data directory to write")] = Path("data"),
    truth: Annotated[
        Path | None, typer.Option(help="where to write who would qualify (never into --out)")
    ] = None,
    end: Annotated[str, typer.Option(help="the simulation's end date")] = "2025-12-31",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    scenario: Annotated[
        str | None,
        typer.Option(help="hidden mechanisms of the world, a name in scenarios.yaml"),
    ] = None,
) -> None:
    """Write a synthetic economy in the data contract (模拟数据)."""
    from discovery.simulation import simulate as run_simulation
    from discovery.simulation.scenario import scenario as find_scenario

    chosen = find_scenario(scenario)  # an unknown name is a UsageError naming the known ones
    if companies is not None and companies < 100:
        raise UsageError("--companies must be at least 100.")
    if fmt != "csv" and fmt != "parquet":
        raise UsageError(f"--format must be csv or parquet, not '{fmt}'.")
    if truth is not None and truth.resolve().parent == out_dir.resolve():
        raise UsageError("--truth must not be written inside --out: the ground truth is hidden.")
    end_date = parse_date(end, "--end", decision=False)
    file_format: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    with progress_bar() as update:
        summary = run_simulation(
            companies,
            seed,
            out_dir,
            truth,
            end=end_date,
            fmt=file_format,
            progress=update,
            scenario=chosen,
        )
    grid = RichTable(title=f"simulated world → {out_dir}")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        grid.add_row(name, f"{rows:,}")
    out.print(grid)
    holders = ", ".join(f"{tier} {n:,}" for tier, n in summary.holders.items())
    out.print(f"holders at {end_date}: {holders}")
    out.print(f"scenario: {summary.scenario}")
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
    if rejects is not None:
        check_writable(rejects, "--rejects")
    with workspace() as ws, progress_bar() as update:
        rejects_path = rejects or ws.paths.rejects
        report = ws.ingest(
            data,
            rejects_path,
            on_table=lambda name: update(f"validate {name}", 0, 1),
            progress=update,
        )
        kind = ws.store.kind
    grid = RichTable(title=f"ingest {data} → {kind} store")
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
    """What the store and the model registry hold: rows per table, models per tier (状态)."""
    from discovery.names import tier_name

    usable_home(get_settings().home)
    with workspace() as ws:
        info = ws.status()
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
    out.print(f"models 模型 ({info['home']}/models)", markup=False, highlight=False)
    for tier, held in info["models"].items():
        if held["serving"]:
            metric = held.get("serving_primary_metric")
            serving = f"serving {held['serving']}, data as of {held.get('serving_as_of') or '—'}"
            serving += "" if metric is None else f", validation metric {metric:.3f}"
        else:
            serving = f"none serving; train one: discovery train --as-of YYYY-MM-DD --tier {tier}"
        out.print(
            f"  {tier} {tier_name(tier)}: {held['models']:,} registered; {serving}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


TierOption = Annotated[str, typer.Option(help="specialized_sme or little_giant")]
AsOfOption = Annotated[
    str, typer.Option("--as-of", help="decision date YYYY-MM-DD; only facts known then are used")
]


@app.command()
@plain_errors
def features(
    as_of: AsOfOption,
    out_file: Annotated[
        Path, typer.Option("--out", help="feature table to write (.parquet or .csv)")
    ],
) -> None:
    """Write the point-in-time feature table, one row per company (特征表)."""
    day = parse_date(as_of)
    if out_file.suffix not in (".parquet", ".csv"):
        raise UsageError(
            f"--out must end in .parquet or .csv, not '{out_file.suffix or out_file.name}'."
        )
    check_writable(out_file, "--out")
    with workspace() as ws:
        frame = ws.write_features(day, out_file)
    out.print(
        f"wrote {len(frame):,} companies × {frame.shape[1] - 1} features as of {day} to {out_file}"
    )


@app.command()
@plain_errors
def train(
    as_of: AsOfOption,
    tier: TierOption,
    force: Annotated[
        bool, typer.Option(help="promote even if worse than the serving model")
    ] = False,
    rounds: Annotated[
        int, typer.Option(help="past yearly rounds to learn from (the latest validates)")
    ] = 5,
) -> None:
    """Train, validate and register a model for TIER; promote it unless worse (训练模型)."""
    from discovery.card import summary_lines
    from discovery.vocabulary import check_tier

    day = parse_date(as_of)
    check_tier(tier)
    if rounds < 2:
        raise UsageError("--rounds must be at least 2 (one to learn from, one to validate on).")
    with workspace() as ws, progress_bar() as update:
        result = ws.train(tier, day, force=force, rounds=rounds, progress=update)
    if result.outcomes_fed:
        out.print(f"{result.outcomes_fed:,} recorded invitation(s) added to the training evidence")
    out.print(f"registered {result.model.model_id} ({result.model.path})")
    # validation with intervals, invited population, criteria read back, warnings
    for line in [*summary_lines(result.card), result.message]:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
@plain_errors
def rank(
    as_of: AsOfOption,
    tier: TierOption,
    top: Annotated[
        int | None,
        typer.Option(help="how many companies to list (default: the criteria file's list size)"),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="list to write, .csv or .xlsx (default $DISCOVERY_HOME/lists/TIER-DATE.xlsx)",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(help="region-code prefix: 2 (province), 4 (city) or 6 (county) digits"),
    ] = None,
) -> None:
    """Write the ranked invitation list for TIER with the serving model (邀请名单)."""
    from discovery.ranking import write_list
    from discovery.vocabulary import check_region, check_tier

    day = parse_date(as_of)
    check_tier(tier)
    if top is not None and top < 1:
        raise UsageError("--top must be at least 1.")
    if out_file is None:
        out_file = get_settings().home / "lists" / f"{tier}-{day.isoformat()}.xlsx"
    if out_file.suffix not in (".csv", ".xlsx"):
        raise UsageError(
            f"--out must end in .csv or .xlsx, not '{out_file.suffix or out_file.name}'."
        )
    check_region(region, "--region")
    check_writable(out_file, "--out")
    with workspace() as ws:
        ranked = ws.rank(tier, day, top=top, region=region)
    write_list(ranked, out_file)
    s = ranked.summary
    out.print(
        f"{s['tier_zh']} {tier} as of {day}: {s['candidates']:,} candidates, "
        f"{s['known_to_miss_a_threshold']:,} known to miss a threshold, "
        f"{s['below_empirical_floor']:,} below an empirical floor, {s['listed']} listed "
        f"({s['listed_below_empirical_floor']} of them below a floor)"
    )
    if s.get("not_on_file"):
        from discovery.listtext import NOT_ON_FILE, tables_named  # pandas: not at start-up

        zh, en = NOT_ON_FILE
        text = f"注意 warning: {zh} {en}: {tables_named(s['not_on_file'])}"
        out.print(text, markup=False, soft_wrap=True)
    grid = RichTable(title=f"top of the list ({ranked.model_id})")
    for col in ("rank", "name", "region_code", "score"):
        grid.add_column(col)
    for row in ranked.frame.head(10).itertuples():
        grid.add_row(str(row.rank), str(row.name), str(row.region_code), f"{row.score:.3f}")
    out.print(grid)
    # a path is never wrapped: scripts and terminals read it whole
    out.print(f"full list written to {out_file}", soft_wrap=True, markup=False, highlight=False)


@app.command()
@plain_errors
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Run the HTTP service and the officials' web page (服务)."""
    import uvicorn

    if not 0 < port < 65536:
        raise UsageError(f"--port must lie between 1 and 65535, not {port}.")
    # a bad DISCOVERY_* variable or a home the service cannot write is one sentence here,
    # before the server starts, not a traceback from inside it
    writable_home(get_settings().home)
    # by import string: the CLI never imports the layer above it
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port)


criteria_app = typer.Typer(
    help="The recognition standards and their own decisions (认定标准).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(criteria_app, name="criteria")


@criteria_app.command("check")
@plain_errors
def criteria_check(
    as_of: AsOfOption,
    tier: Annotated[
        str | None, typer.Option(help="specialized_sme or little_giant (default: both)")
    ] = None,
    rounds: Annotated[int, typer.Option(help="past yearly rounds to read back")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Read the criteria back from past decisions: contradicted thresholds, empirical
    floors, bars the decisions held, and what ranking does about a lowered threshold."""
    from discovery.standard_change import Lift, lifts_of
    from discovery.standard_check import render
    from discovery.vocabulary import check_tier
    from graph.contract import TARGET_TIERS

    day = parse_date(as_of)
    tiers = [check_tier(tier)] if tier else list(TARGET_TIERS)
    if rounds < 1:
        raise UsageError("--rounds must be at least 1.")
    results = []
    with workspace() as ws, progress_bar() as update:
        for t in tiers:
            check = ws.standard_check(t, day, rounds=rounds, progress=update)
            lifts = lifts_of(check, ws.criteria, t)
            results.append({**check.to_json(), "standard_changes": [x.to_json() for x in lifts]})
    if as_json:
        sys.stdout.write(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        return
    for res in results:
        changes = [Lift.from_json(x).text() for x in res["standard_changes"]]
        sys.stdout.write("\n".join([*render(res), *changes]) + "\n\n")


app.add_typer(keys_app, name="keys")


def main() -> None:  # pragma: no cover - console entry point
    app()
